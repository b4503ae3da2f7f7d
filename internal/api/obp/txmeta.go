package obp

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/openagg/openagg/internal/account"
	"github.com/openagg/openagg/internal/api/obperr"
	"github.com/openagg/openagg/internal/fault"
	"github.com/openagg/openagg/internal/metadata"
	"github.com/openagg/openagg/internal/view"
)

// Transaction metadata lives on the view it was made on (OBP 1.2). Reads
// need the view's can_see_* flag; writes its can_add_/can_edit_/can_delete_
// flag; comments, tags, images and where tags carry their author, so adding
// them needs a user, and deleting them needs their author or an owner.

// txWrite loads a transaction-metadata write and checks action (and a user
// when needUser).
func (a *API) txWrite(r *http.Request, action string, needUser bool) (*account.Scope, error) {
	s, err := a.txScope(r)
	if err != nil {
		return nil, err
	}
	if needUser && s.Caller == nil {
		return nil, obperr.NotLoggedIn()
	}
	if err := s.View.Require(action); err != nil {
		return nil, err
	}
	return s, nil
}

// txRead loads a transaction-metadata read and checks action (a read
// needs no user).
func (a *API) txRead(r *http.Request, action string) (*account.Scope, error) {
	return a.txWrite(r, action, false)
}

func (a *API) update(r *http.Request, s *account.Scope, change metadata.Change) (metadata.TxMeta, error) {
	return a.meta.UpdateTx(r.Context(), s.Transaction, s.ViewID, s.TxMeta, change)
}

// mayDelete: the author of an item or an owner of the account.
func mayDelete(s *account.Scope, author view.User) error {
	if s.Caller != nil && (s.Caller.Subject == author.ID || s.ACL.IsOwner(s.Caller.Subject)) {
		return nil
	}
	return fault.Errorf(metadata.ErrNotAuthor, "Only the user who posted it or an owner of the account may delete it.")
}

func metadataNotFound(what, param string) error {
	return fault.Errorf(metadata.ErrNotFound, "%s not found. Please specify a valid value for %s.", what, param)
}

// deleteItem is DELETE of one comment, tag or image, named by the path
// parameter param: items is where the metadata keeps that kind, key gives
// an item's ID and author, and what names the kind in the not-found error.
func deleteItem[T any](a *API, w http.ResponseWriter, r *http.Request, action, param, what string,
	items func(*metadata.TxMeta) *[]T, key func(T) (string, view.User)) error {
	s, err := a.txWrite(r, action, true)
	if err != nil {
		return err
	}
	id := r.PathValue(param)
	if _, err := a.update(r, s, func(m *metadata.TxMeta, _ time.Time) error {
		list := items(m)
		i := slices.IndexFunc(*list, func(x T) bool { xid, _ := key(x); return xid == id })
		if i < 0 {
			return metadataNotFound(what, param)
		}
		_, author := key((*list)[i])
		if err := mayDelete(s, author); err != nil {
			return err
		}
		*list = slices.Delete(*list, i, i+1)
		return nil
	}); err != nil {
		return err
	}
	noContent(w)
	return nil
}

// Narrative.

func (a *API) getNarrative(w http.ResponseWriter, r *http.Request) error {
	s, err := a.txRead(r, "can_see_narrative")
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, narrativeJSON{Narrative: str(s.TxMeta.Narrative)})
	return nil
}

type narrativeBody struct {
	Narrative *string `json:"narrative"`
}

func (a *API) setNarrative(status int, msg string) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		s, err := a.txWrite(r, "can_edit_narrative", false)
		if err != nil {
			return err
		}
		var body narrativeBody
		if err := decodeBody(w, r, &body); err != nil {
			return err
		}
		if body.Narrative == nil {
			return obperr.InvalidJSON("narrative is required.")
		}
		if err := metadata.ValidText("narrative", *body.Narrative); err != nil {
			return err
		}
		if _, err := a.update(r, s, func(m *metadata.TxMeta, _ time.Time) error {
			m.Narrative = *body.Narrative
			return nil
		}); err != nil {
			return err
		}
		success(w, status, msg)
		return nil
	}
}

func (a *API) deleteNarrative(w http.ResponseWriter, r *http.Request) error {
	s, err := a.txWrite(r, "can_edit_narrative", false)
	if err != nil {
		return err
	}
	if _, err := a.update(r, s, func(m *metadata.TxMeta, _ time.Time) error {
		m.Narrative = ""
		return nil
	}); err != nil {
		return err
	}
	noContent(w)
	return nil
}

// Comments.

func (a *API) getComments(w http.ResponseWriter, r *http.Request) error {
	s, err := a.txRead(r, "can_see_comments")
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, commentsJSON{Comments: comments(s.TxMeta.Comments)})
	return nil
}

type valueBody struct {
	Value *string `json:"value"`
}

// decodeValue decodes the body of a new comment or tag: its value.
func decodeValue(w http.ResponseWriter, r *http.Request) (string, error) {
	var body valueBody
	if err := decodeBody(w, r, &body); err != nil {
		return "", err
	}
	if body.Value == nil {
		return "", obperr.InvalidJSON("value is required.")
	}
	if err := metadata.ValidText("value", *body.Value); err != nil {
		return "", err
	}
	return *body.Value, nil
}

func (a *API) addComment(w http.ResponseWriter, r *http.Request) error {
	s, err := a.txWrite(r, "can_add_comment", true)
	if err != nil {
		return err
	}
	value, err := decodeValue(w, r)
	if err != nil {
		return err
	}
	c := metadata.Comment{ID: metadata.NewItemID(), Value: value, User: view.UserOf(*s.Caller)}
	if _, err := a.update(r, s, func(m *metadata.TxMeta, now time.Time) error {
		c.Date = now
		m.Comments = append(m.Comments, c)
		return nil
	}); err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, comments([]metadata.Comment{c})[0])
	return nil
}

func (a *API) deleteComment(w http.ResponseWriter, r *http.Request) error {
	return deleteItem(a, w, r, "can_delete_comment", "COMMENT_ID", "Comment",
		func(m *metadata.TxMeta) *[]metadata.Comment { return &m.Comments },
		func(c metadata.Comment) (string, view.User) { return c.ID, c.User })
}

// Tags.

func (a *API) getTags(w http.ResponseWriter, r *http.Request) error {
	s, err := a.txRead(r, "can_see_tags")
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, tagsJSON{Tags: tags(s.TxMeta.Tags)})
	return nil
}

func (a *API) addTag(w http.ResponseWriter, r *http.Request) error {
	s, err := a.txWrite(r, "can_add_tag", true)
	if err != nil {
		return err
	}
	value, err := decodeValue(w, r)
	if err != nil {
		return err
	}
	// OBP 1.2: "the value on the tag MUST NOT contain a white space".
	if strings.IndexFunc(value, unicode.IsSpace) >= 0 {
		return obperr.InvalidJSON("a tag must not contain white space.")
	}
	t := metadata.Tag{ID: metadata.NewItemID(), Value: value, User: view.UserOf(*s.Caller)}
	if _, err := a.update(r, s, func(m *metadata.TxMeta, now time.Time) error {
		t.Date = now
		m.Tags = append(m.Tags, t)
		return nil
	}); err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, tags([]metadata.Tag{t})[0])
	return nil
}

func (a *API) deleteTag(w http.ResponseWriter, r *http.Request) error {
	return deleteItem(a, w, r, "can_delete_tag", "TAG_ID", "Tag",
		func(m *metadata.TxMeta) *[]metadata.Tag { return &m.Tags },
		func(t metadata.Tag) (string, view.User) { return t.ID, t.User })
}

// Images.

func (a *API) getImages(w http.ResponseWriter, r *http.Request) error {
	s, err := a.txRead(r, "can_see_images")
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, imagesJSON{Images: images(s.TxMeta.Images)})
	return nil
}

type imageFields struct {
	Label *string `json:"label"`
	URL   *string `json:"URL"`
}

// imageBody accepts {"label","URL"} (OBP-API) and the page's
// {"image": {"label","URL"}}.
type imageBody struct {
	imageFields
	Image *imageFields `json:"image"`
}

func (a *API) addImage(w http.ResponseWriter, r *http.Request) error {
	s, err := a.txWrite(r, "can_add_image", true)
	if err != nil {
		return err
	}
	var body imageBody
	if err := decodeBody(w, r, &body); err != nil {
		return err
	}
	f := body.imageFields
	if body.Image != nil {
		if f.Label != nil || f.URL != nil {
			return obperr.InvalidJSON("send either {\"label\",\"URL\"} or {\"image\": {...}}, not both.")
		}
		f = *body.Image
	}
	if f.URL == nil {
		return obperr.InvalidJSON("URL is required.")
	}
	if u, err := url.Parse(*f.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || len(*f.URL) > 2000 {
		return obperr.InvalidJSON("URL must be an absolute http(s) URL.")
	}
	label := ""
	if f.Label != nil {
		label = *f.Label
		if err := metadata.ValidLabel(label); err != nil {
			return err
		}
	}
	img := metadata.Image{ID: metadata.NewItemID(), Label: label, URL: *f.URL, User: view.UserOf(*s.Caller)}
	if _, err := a.update(r, s, func(m *metadata.TxMeta, now time.Time) error {
		img.Date = now
		m.Images = append(m.Images, img)
		return nil
	}); err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, images([]metadata.Image{img})[0])
	return nil
}

func (a *API) deleteImage(w http.ResponseWriter, r *http.Request) error {
	return deleteItem(a, w, r, "can_delete_image", "IMAGE_ID", "Image",
		func(m *metadata.TxMeta) *[]metadata.Image { return &m.Images },
		func(x metadata.Image) (string, view.User) { return x.ID, x.User })
}

// Where.

func (a *API) getWhere(w http.ResponseWriter, r *http.Request) error {
	s, err := a.txRead(r, "can_see_where_tag")
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, whereJSON{Where: location(s.TxMeta.Where)})
	return nil
}

type whereBody struct {
	Where *geoBody `json:"where"`
}

func (a *API) setWhere(msg string) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		s, err := a.txWrite(r, "can_add_where_tag", true)
		if err != nil {
			return err
		}
		var body whereBody
		if err := decodeBody(w, r, &body); err != nil {
			return err
		}
		loc, err := body.Where.location("where")
		if err != nil {
			return err
		}
		loc.User = view.UserOf(*s.Caller)
		if _, err := a.update(r, s, func(m *metadata.TxMeta, now time.Time) error {
			l := *loc
			l.Date = now
			m.Where = &l
			return nil
		}); err != nil {
			return err
		}
		success(w, http.StatusCreated, msg)
		return nil
	}
}

func (a *API) deleteWhere(w http.ResponseWriter, r *http.Request) error {
	s, err := a.txWrite(r, "can_delete_where_tag", true)
	if err != nil {
		return err
	}
	if _, err := a.update(r, s, func(m *metadata.TxMeta, _ time.Time) error {
		if m.Where == nil {
			return metadataNotFound("Where tag", "TRANSACTION_ID")
		}
		if err := mayDelete(s, m.Where.User); err != nil {
			return err
		}
		m.Where = nil
		return nil
	}); err != nil {
		return err
	}
	noContent(w)
	return nil
}

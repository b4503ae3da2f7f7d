package connection

import (
	"context"
	"fmt"
	"strings"

	"github.com/openagg/openagg/internal/holdings"
	"github.com/openagg/openagg/internal/party"
	"github.com/openagg/openagg/internal/store"
)

// Partition is a party's partition as one query reads it: the profile
// (nil when there is none), the connections with their import progress
// (as Details derives it), and the items other packages keep there, as
// stored (the finAPI bank connections' own records).
type Partition struct {
	Profile *party.Profile
	Details []Detail
	Other   []store.Item
}

// ReadPartition reads a party's partition with one query (paged only past
// 1000 items). Unlike Details it checks no access: the caller owns the
// party by construction (the finAPI dialect's party is derived from the
// caller's subject) and checks the profile's owner itself. With brief, the
// connections are not decoded (a Detail holds the party and the bank code
// only, no import progress): for a caller that only needs to know which
// connections exist.
func (s *Service) ReadPartition(ctx context.Context, partyID string, brief bool) (Partition, error) {
	if err := party.ValidateID(partyID); err != nil {
		return Partition{}, err
	}
	var out Partition
	var conns []Connection
	progress := map[string]imported{}
	q := store.Query{PK: holdings.PartyPK(partyID)}
	for {
		page, err := s.st.Query(ctx, q)
		if err != nil {
			return Partition{}, fmt.Errorf("read party %s: %w", partyID, err)
		}
		for _, it := range page.Items {
			switch {
			case it.SK == party.ProfileSK:
				pr, err := party.Decode(it)
				if err != nil {
					return Partition{}, err
				}
				out.Profile = &pr
			case strings.HasPrefix(it.SK, SKPrefix):
				if brief {
					conns = append(conns, Connection{PartyID: partyID, BankCode: it.SK[len(SKPrefix):]})
					continue
				}
				c, err := Decode(it)
				if err != nil {
					return Partition{}, err
				}
				conns = append(conns, c)
			case strings.HasPrefix(it.SK, holdings.ImportSKPrefix):
				if brief {
					continue
				}
				pg, err := importProgress(it)
				if err != nil {
					return Partition{}, err
				}
				progress[it.SK[len(holdings.ImportSKPrefix):]] = pg
			default:
				out.Other = append(out.Other, it)
			}
		}
		if page.Next == "" {
			break
		}
		q.Token = page.Next
	}
	out.Details = make([]Detail, 0, len(conns))
	for _, c := range conns {
		out.Details = append(out.Details, detailOf(c, progress))
	}
	return out, nil
}

// detailOf is a connection with its import progress, as Details shows it.
func detailOf(c Connection, progress map[string]imported) Detail {
	d := Detail{Connection: c}
	im, ok := progress[c.BankCode]
	switch {
	case ok:
		d.Import = im.progress
		// A newer import is queued and has not started — unless the run
		// queued is the one done: queued again by a transition replayed
		// after a crash, which the importer ignores as the duplicate it is.
		if im.progress.State == holdings.StateDone && c.ImportQueuedAt.After(im.progress.LastImportAt) && c.ImportRunID != im.runID {
			d.Import.State = holdings.StateQueued
		}
	case !c.ImportQueuedAt.IsZero():
		d.Import = holdings.ImportProgress{State: holdings.StateQueued}
	default:
		d.Import = holdings.ImportProgress{State: "none"}
	}
	return d
}

package app

import "strings"

// Part is what a function serves: one API group, one worker or one
// schedule. Exactly one field is set.
type Part struct {
	Group    *Group
	Worker   *Worker
	Schedule *Schedule
}

// PartFunc builds one part from the App. The domain services the part needs
// are built on the way, once per App (services.go), so a configuration
// error surfaces when the part is built — at the start of `openagg serve`
// or of a Lambda (an init error) — never per request or per message.
type PartFunc func(a *App) (Part, error)

// The parts, one exported builder each. A Lambda main names the parts of
// its function (functions/<name>/main.go), so its binary links only those
// and what they need; `openagg serve`, `openagg invoke`, the template and
// the tests take them all from Parts.

func HealthGroup(a *App) (Part, error)    { return groupPart(a.healthGroup()) }
func SystemGroup(a *App) (Part, error)    { return groupPart(a.systemGroup()) }
func PartyGroup(a *App) (Part, error)     { return groupPart(a.partyGroup()) }
func ConnectGroup(a *App) (Part, error)   { return groupPart(a.connectGroup()) }
func HoldingsGroup(a *App) (Part, error)  { return groupPart(a.holdingsGroup()) }
func OBPGroup(a *App) (Part, error)       { return groupPart(a.obpGroup()) }
func CustomersGroup(a *App) (Part, error) { return groupPart(a.customersGroup()) }
func FinAPIGroup(a *App) (Part, error)    { return groupPart(a.finapiGroup()) }

func DirectoryLoader(a *App) (Part, error)  { return workerPart(a.directoryLoader()) }
func ConnectionSync(a *App) (Part, error)   { return workerPart(a.connectionSync()) }
func HoldingsImporter(a *App) (Part, error) { return workerPart(a.holdingsImporter()) }

func ActivityRecorder(a *App) (Part, error) { return workerPart(a.activityRecorder()) }
func WebhooksWorker(a *App) (Part, error)   { return workerPart(a.webhooksWorker()) }

func RefreshScheduler(a *App) (Part, error) { return schedulePart(a.refreshScheduler()) }

// PartInfo names a part and its kind without building it.
type PartInfo struct {
	Name  string // group name, or the worker's or schedule's function name
	Kind  string // KindAPI, KindWorker or KindSchedule
	Build PartFunc
}

// Parts lists every part. Each new group, worker or schedule adds one line
// here and one builder above.
func Parts() []PartInfo {
	return []PartInfo{
		{"health", KindAPI, HealthGroup},
		{"system", KindAPI, SystemGroup},
		{"party", KindAPI, PartyGroup},
		{"connect", KindAPI, ConnectGroup},
		{"holdings", KindAPI, HoldingsGroup},
		{"obp", KindAPI, OBPGroup},
		{"customers", KindAPI, CustomersGroup},
		{"finapi", KindAPI, FinAPIGroup},
		{"directory-loader", KindWorker, DirectoryLoader},
		{"connection-sync", KindWorker, ConnectionSync},
		{"holdings-importer", KindWorker, HoldingsImporter},
		{"activity-recorder", KindWorker, ActivityRecorder},
		{"webhooks", KindWorker, WebhooksWorker},
		{"refresh-scheduler", KindSchedule, RefreshScheduler},
	}
}

// groupPart, workerPart and schedulePart wrap what a builder method
// returns (its error already says which part failed).
func groupPart(g Group, err error) (Part, error) {
	if err != nil {
		return Part{}, err
	}
	return Part{Group: &g}, nil
}

func workerPart(w Worker, err error) (Part, error) {
	if err != nil {
		return Part{}, err
	}
	return Part{Worker: &w}, nil
}

func schedulePart(s Schedule, err error) (Part, error) {
	if err != nil {
		return Part{}, err
	}
	return Part{Schedule: &s}, nil
}

// partsOf lists the parts of a kind.
func partsOf(kind string) []PartInfo {
	var out []PartInfo
	for _, p := range Parts() {
		if p.Kind == kind {
			out = append(out, p)
		}
	}
	return out
}

// partNamed finds a part by name.
func partNamed(name string) (PartInfo, bool) {
	for _, p := range Parts() {
		if p.Name == name {
			return p, true
		}
	}
	return PartInfo{}, false
}

func partNames(kind string) string {
	var names []string
	for _, p := range partsOf(kind) {
		names = append(names, p.Name)
	}
	return strings.Join(names, ", ")
}

// Package project is ferry's version of Argo CD's AppProject: which
// repositories may deploy what, where and when. A project names the source
// repositories it accepts, the destinations (cluster and namespace) it may
// deploy to, the kinds of resources it may hold, and the sync windows in
// which it may sync.
//
// Projects come from the server's configuration (ferry serve --config) and
// from AppProject manifests on a repository's default branch. A
// repository's AppProject can only narrow what the server grants: an action
// is permitted only when every layer of an Effective project permits it.
// The package is pure: it returns decisions and reasons, and never talks
// to a cluster or to GitHub.
package project

// DefaultName is the project an Application without spec.project uses.
const DefaultName = "default"

// Project is one AppProject's rules, in Argo CD's field names.
type Project struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	// Repos are the repositories ("owner/name", globs such as "acme/*")
	// that may use the project. Only the server's configuration sets it;
	// an empty list lets no repository use the project, except for the
	// built-in default project, which any repository may use.
	Repos []string `json:"repos,omitempty"`
	// SourceRepos are the repository URLs (globs; "!" denies) an
	// Application in the project may take its source from.
	SourceRepos []string `json:"sourceRepos,omitempty"`
	// Destinations are where the project may deploy (globs; "!" denies).
	Destinations []Destination `json:"destinations,omitempty"`
	// Cluster-scoped kinds are denied unless whitelisted; namespaced kinds
	// are allowed unless a whitelist is set and misses them. A blacklist
	// entry denies in both cases.
	ClusterResourceWhitelist   []GroupKind  `json:"clusterResourceWhitelist,omitempty"`
	ClusterResourceBlacklist   []GroupKind  `json:"clusterResourceBlacklist,omitempty"`
	NamespaceResourceWhitelist []GroupKind  `json:"namespaceResourceWhitelist,omitempty"`
	NamespaceResourceBlacklist []GroupKind  `json:"namespaceResourceBlacklist,omitempty"`
	SyncWindows                []SyncWindow `json:"syncWindows,omitempty"`

	// Source says where the project was defined ("ferry.yaml:12",
	// "projects/team.yaml:3", "built-in"), for messages.
	Source string `json:"-"`
}

// Destination is one entry of a project's destinations. Each field is a
// glob ("*" matches anything); a leading "!" makes the entry deny what its
// pattern matches.
type Destination struct {
	Server    string `json:"server,omitempty"`
	Name      string `json:"name,omitempty"`
	Namespace string `json:"namespace,omitempty"`
}

// GroupKind is a resource kind pattern (globs; "" is the core group).
type GroupKind struct {
	Group string `json:"group"`
	Kind  string `json:"kind"`
}

// SyncWindow is one of a project's sync windows, as in Argo CD.
type SyncWindow struct {
	// Kind is "allow" or "deny".
	Kind string `json:"kind"`
	// Schedule is a cron expression (five fields) opening the window.
	Schedule string `json:"schedule"`
	// Duration is how long the window stays open ("1h", "30m").
	Duration string `json:"duration"`
	// Applications, Namespaces and Clusters (globs) select the
	// environments the window applies to; a window selecting none applies
	// to none.
	Applications []string `json:"applications,omitempty"`
	Namespaces   []string `json:"namespaces,omitempty"`
	Clusters     []string `json:"clusters,omitempty"`
	// ManualSync lets a manual sync (/ferry sync) through the window.
	ManualSync bool `json:"manualSync,omitempty"`
	// TimeZone is the IANA zone the schedule is read in (UTC when empty).
	TimeZone string `json:"timeZone,omitempty"`
}

// Cluster is a destination cluster with both its names known where the
// server's configuration tells them: Argo CD matches a destination entry
// against either.
type Cluster struct {
	Name   string
	Server string
}

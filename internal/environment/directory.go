package environment

// DirectorySource mirrors Argo CD's spec.source.directory.
type DirectorySource struct {
	// Recurse reads subdirectories too.
	Recurse bool `json:"recurse,omitempty"`
	// Include and Exclude are glob patterns ("{a.yaml,b.yaml}" lists
	// several), matched against paths relative to the source directory.
	Include string         `json:"include,omitempty"`
	Exclude string         `json:"exclude,omitempty"`
	Jsonnet *JsonnetSource `json:"jsonnet,omitempty"`
}

// JsonnetSource mirrors spec.source.directory.jsonnet.
type JsonnetSource struct {
	ExtVars []JsonnetVar `json:"extVars,omitempty"`
	TLAs    []JsonnetVar `json:"tlas,omitempty"`
	// Libs are library directories, relative to the repository root.
	Libs []string `json:"libs,omitempty"`
}

// JsonnetVar is one external variable or top-level argument; Code means
// Value is Jsonnet code rather than a string.
type JsonnetVar struct {
	Name  string `json:"name"`
	Value string `json:"value"`
	Code  bool   `json:"code,omitempty"`
}

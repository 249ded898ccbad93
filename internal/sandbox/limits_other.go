//go:build !linux

package sandbox

// confine has no resource limits to set outside Linux: the parent's wall
// clock is the only bound there.
func confine(int64) error { return nil }

func limitCPU(int64) error { return nil }

func residentBytes() int64 { return 0 }

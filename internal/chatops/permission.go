package chatops

import "strings"

// Permission is a commenter's access to the repository, ordered so that
// more access compares greater: admin and maintain can do what write can.
type Permission int

// The permission levels, as GitHub names them.
const (
	None Permission = iota
	Read
	Triage
	Write
	Maintain
	Admin
)

var permissionNames = [...]string{"none", "read", "triage", "write", "maintain", "admin"}

func (p Permission) String() string {
	if p < None || p > Admin {
		return "none"
	}
	return permissionNames[p]
}

// ParsePermission maps GitHub's permission for a collaborator ("admin",
// "maintain", "write", "triage", "read", "none", or the REST API's older
// "push" and "pull") to a Permission. Anything else, such as a custom
// role's name, is None: the caller should pass the base permission, and an
// unrecognised one must not grant access.
func ParsePermission(githubPermission string) Permission {
	switch strings.ToLower(strings.TrimSpace(githubPermission)) {
	case "admin":
		return Admin
	case "maintain":
		return Maintain
	case "write", "push":
		return Write
	case "triage":
		return Triage
	case "read", "pull":
		return Read
	}
	return None
}

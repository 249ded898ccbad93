package appset

import (
	"errors"
	"fmt"
	"time"
)

// limits bound what one ApplicationSet may cost. An ApplicationSet comes
// from a pull request, so it is hostile until proven otherwise: a matrix of
// two large generators, a template that loops or grows a string, or a file
// generator over thousands of files must fail with a reason, not take the
// server down.
type limits struct {
	// Applications caps the Applications one ApplicationSet generates.
	Applications int
	// ParamSets caps the parameter sets any one generator (a matrix
	// included) may produce.
	ParamSets int
	// String caps one rendered template string (a field, a templatePatch).
	String int
	// Output caps everything one ApplicationSet's templates write.
	Output int
	// Value caps the size of any value a template function takes or
	// returns (strings count their bytes, lists and maps their elements).
	Value int
	// Steps caps template work: each function call, each range iteration,
	// each template invocation and each element a size check visits.
	Steps int
	// Nodes caps the YAML nodes of one generated Application (aliases
	// expanded); TotalNodes those of all of them.
	Nodes, TotalNodes int
	// FileSize caps a file the git files generator reads; FileBytes all
	// the files it reads, a file read again (in a matrix) counted again.
	FileSize, FileBytes int64
	// Depth caps how deeply matrix and merge generators nest.
	Depth int
	// Time caps the wall-clock time one ApplicationSet's templates take,
	// whatever their steps cost.
	Time time.Duration
}

// defaultLimits are generous for real repositories: the largest public
// ApplicationSets generate a few hundred Applications from small templates.
var defaultLimits = limits{
	Applications: 1000,
	ParamSets:    10000,
	String:       256 << 10,
	Output:       32 << 20,
	Value:        4 << 20,
	Steps:        1_000_000,
	Nodes:        20000,
	TotalNodes:   400_000,
	FileSize:     1 << 20,
	FileBytes:    16 << 20,
	Depth:        3,
	Time:         5 * time.Second,
}

// errLimit marks an error that is a limit being hit.
var errLimit = errors.New("over ferry's limit for ApplicationSets")

// budget is what is left of one ApplicationSet's limits while it expands.
type budget struct {
	lim      limits
	steps    int
	output   int
	deadline time.Time
	// depth is how deeply {{ template }} calls nest in the template
	// being executed.
	depth     int
	nodes     int
	fileBytes int64
}

func newBudget(lim limits) *budget {
	return &budget{lim: lim, deadline: time.Now().Add(lim.Time)}
}

// clockEvery is how many steps pass between looks at the clock.
const clockEvery = 256

// spend takes n steps; it fails once the budget is gone.
func (b *budget) spend(n int) error {
	before := b.steps
	b.steps += n
	if b.steps > b.lim.Steps {
		return fmt.Errorf("%w: templates took more than %d steps (function calls, loop iterations)", errLimit, b.lim.Steps)
	}
	if b.steps/clockEvery != before/clockEvery && time.Now().After(b.deadline) {
		return fmt.Errorf("%w: templates took more than %s", errLimit, b.lim.Time)
	}
	return nil
}

// node counts one YAML node of a generated Application.
func (b *budget) node() error {
	b.nodes++
	if b.nodes > b.lim.TotalNodes {
		return fmt.Errorf("%w: the generated Applications have more than %d YAML nodes in all", errLimit, b.lim.TotalNodes)
	}
	return nil
}

// read counts n bytes the files generator read.
func (b *budget) read(n int) error {
	b.fileBytes += int64(n)
	if b.fileBytes > b.lim.FileBytes {
		return fmt.Errorf("%w: the git files generator read more than %d bytes in all", errLimit, b.lim.FileBytes)
	}
	return nil
}

// maxTemplateDepth bounds nested {{ template }} calls.
const maxTemplateDepth = 100

// enter and leave bracket a {{ template }} call.
func (b *budget) enter() (string, error) {
	b.depth++
	if b.depth > maxTemplateDepth {
		return "", fmt.Errorf("%w: {{ template }} calls nest deeper than %d", errLimit, maxTemplateDepth)
	}
	return "", b.spend(1)
}

func (b *budget) leave() string {
	b.depth--
	return ""
}

// write counts n bytes of template output.
func (b *budget) write(n int) error {
	b.output += n
	if b.output > b.lim.Output {
		return fmt.Errorf("%w: templates wrote more than %d bytes in all", errLimit, b.lim.Output)
	}
	return nil
}

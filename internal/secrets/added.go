package secrets

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"github.com/aymanbagabas/go-udiff/lcs"

	"github.com/ferry-gitops/ferry/internal/repofs"
)

// MaxTextFileSize bounds the files whose added lines are scanned. Anything
// larger is generated or data, and diffing it would dominate a job.
const MaxTextFileSize = 1 << 20

// binarySniff is how much of a file is checked for a NUL byte, as git does.
const binarySniff = 8000

// AddedLine is one line a change adds, numbered as in the head file.
type AddedLine struct {
	Number int
	Text   string
}

// AddedLines returns the added lines of each changed text file. A file
// missing at the head (deleted), a symlink (its target is scanned as its
// own path), a binary file or one over MaxTextFileSize is left out. When
// the base version is missing, binary or too large, every line is added.
func AddedLines(base, head *repofs.Tree, changed []string) (map[string][]AddedLine, error) {
	out := map[string][]AddedLine{}
	for _, name := range changed {
		_, added, err := addedLines(base, head, name, false)
		if err != nil {
			return nil, err
		}
		if len(added) > 0 {
			out[name] = added
		}
	}
	return out, nil
}

// ScanDiff scans what a change adds: the added lines of every changed file,
// with the head content as the structural rules' context. Files are read
// through the trees; the context is checked between files. A file a render
// reads is scanned even when large or binary. Past the scanner's budget the
// scan stops with a RuleIncomplete finding.
func (s *Scanner) ScanDiff(ctx context.Context, base, head *repofs.Tree, changed []string) ([]Finding, error) {
	var out []Finding
	for _, name := range changed {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("scan for secrets: %w", err)
		}
		if s.pathAllowed(name) {
			continue
		}
		content, added, err := addedLines(base, head, name, s.renderInputs[name])
		if err != nil {
			return nil, err
		}
		if !s.budget.spend(addedBytes(added)) {
			out = append(out, s.incomplete(name, "", SourceAddedLine))
			break
		}
		out = append(out, s.ScanChange(name, content, added)...)
	}
	return out, nil
}

func addedBytes(lines []AddedLine) int {
	n := 0
	for _, l := range lines {
		n += len(l.Text) + 1
	}
	return n
}

// addedLines returns the head content of name and the lines it adds; any
// anySize says to read it whatever its size or content.
func addedLines(base, head *repofs.Tree, name string, anySize bool) ([]byte, []AddedLine, error) {
	now, ok, err := readText(head, name, anySize)
	if err != nil || !ok {
		return nil, nil, err
	}
	var was []byte
	if base != nil {
		if was, ok, err = readText(base, name, anySize); err != nil {
			return nil, nil, err
		} else if !ok {
			was = nil
		}
	}
	return now, diffAdded(was, now), nil
}

// readText reads a regular text file within the size limit (with anySize,
// any file the tree reads); ok is false for anything else.
func readText(t *repofs.Tree, name string, anySize bool) ([]byte, bool, error) {
	real, err := t.Resolve(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("scan %s: %w", name, err)
	}
	if real != name || t.IsDir(name) {
		return nil, false, nil
	}
	if size, err := t.Size(name); err != nil {
		return nil, false, fmt.Errorf("scan %s: %w", name, err)
	} else if size > MaxTextFileSize && !anySize || t.MaxFileSize > 0 && size > t.MaxFileSize {
		return nil, false, nil
	}
	data, err := t.ReadFile(name)
	if err != nil {
		return nil, false, fmt.Errorf("scan %s: %w", name, err)
	}
	if !anySize && bytes.IndexByte(data[:min(len(data), binarySniff)], 0) >= 0 {
		return nil, false, nil
	}
	return data, true, nil
}

// diffAdded lists the lines of now that a line diff from was marks added.
func diffAdded(was, now []byte) []AddedLine {
	b := splitLines(now)
	if len(was) == 0 {
		out := make([]AddedLine, len(b))
		for i, l := range b {
			out[i] = AddedLine{Number: i + 1, Text: l}
		}
		return out
	}
	var out []AddedLine
	for _, e := range lcs.DiffLines(splitLines(was), b) {
		for i := e.ReplStart; i < e.ReplEnd; i++ {
			out = append(out, AddedLine{Number: i + 1, Text: b[i]})
		}
	}
	return out
}

// splitLines splits text into lines without their terminators; a final
// newline does not start another line.
func splitLines(data []byte) []string {
	if len(data) == 0 {
		return nil
	}
	s := strings.TrimSuffix(string(data), "\n")
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimSuffix(l, "\r")
	}
	return lines
}

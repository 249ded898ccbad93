package sandbox

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/ferry-gitops/ferry/internal/environment"
	"github.com/ferry-gitops/ferry/internal/fetch"
	"github.com/ferry-gitops/ferry/internal/manifest"
	"github.com/ferry-gitops/ferry/internal/render"
	"github.com/ferry-gitops/ferry/internal/repofs"
)

// request asks a worker for one environment's render. Both sides are the
// same binary, so the types are shared; frames are a 4-byte big-endian
// length and a JSON document.
type request struct {
	Tree    repofs.Location         `json:"tree"`
	Env     environment.Environment `json:"env"`
	Options render.Options          `json:"options"`
	// Fetch is what the worker may fetch (nil: nothing).
	Fetch *fetch.Config `json:"fetch,omitempty"`
	// CPUSeconds is the CPU time the render may use.
	CPUSeconds int64 `json:"cpuSeconds"`
	// OpenOnly asks the worker to open Tree and render nothing: the pool
	// has it done while the caller is still reading the repository.
	OpenOnly bool `json:"openOnly,omitempty"`
	// Listing is the tree's listing, sent when the worker does not have
	// the tree open: listing a large commit again would cost more than
	// the render.
	Listing repofs.Listing `json:"listing,omitempty"`
}

// response is a render's result or its error, and the worker's size after it.
type response struct {
	Objects []wireObject `json:"objects,omitempty"`
	Files   []string     `json:"files,omitempty"`
	Err     *wireError   `json:"err,omitempty"`
	// RSS is the worker's resident memory once the render is done.
	RSS int64 `json:"rss"`
}

type wireObject struct {
	Source string         `json:"source,omitempty"`
	Object map[string]any `json:"object"`
}

type wireError struct {
	File    string `json:"file,omitempty"`
	Line    int    `json:"line,omitempty"`
	Message string `json:"message"`
}

func encodeResult(res *render.Result, err error) *response {
	if err != nil {
		var re *render.Error
		if errors.As(err, &re) {
			return &response{Err: &wireError{File: re.File, Line: re.Line, Message: fmt.Sprint(re.Err)}}
		}
		return &response{Err: &wireError{Message: err.Error()}}
	}
	out := &response{Files: res.Files, Objects: make([]wireObject, len(res.Objects))}
	for i, o := range res.Objects {
		out.Objects[i] = wireObject{Source: o.Source, Object: o.Object}
	}
	return out
}

// result turns a worker's answer back into render's types. Objects decode to
// the JSON-compatible values manifest.Parse produces, so they compare equal
// to an in-process render's.
func (r *response) result(env string) (*render.Result, error) {
	if r.Err != nil {
		return nil, &render.Error{Env: env, File: r.Err.File, Line: r.Err.Line, Err: errors.New(r.Err.Message)}
	}
	res := &render.Result{Files: r.Files, Objects: make([]manifest.Object, len(r.Objects))}
	for i, o := range r.Objects {
		res.Objects[i] = manifest.New(o.Object, o.Source)
	}
	return res, nil
}

// errFrameTooLarge reports an answer over the reader's limit.
var errFrameTooLarge = errors.New("frame exceeds the size limit")

func writeFrame(w io.Writer, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if len(data) > 1<<31 {
		return errFrameTooLarge
	}
	var head [4]byte
	binary.BigEndian.PutUint32(head[:], uint32(len(data)))
	if _, err := w.Write(head[:]); err != nil {
		return err
	}
	_, err = w.Write(data)
	return err
}

// readFrame reads one frame of at most limit bytes into v.
func readFrame(r io.Reader, limit int64, v any) error {
	var head [4]byte
	if _, err := io.ReadFull(r, head[:]); err != nil {
		return err
	}
	n := int64(binary.BigEndian.Uint32(head[:]))
	if n > limit {
		return fmt.Errorf("%w (%d bytes, limit %d)", errFrameTooLarge, n, limit)
	}
	data := make([]byte, n)
	if _, err := io.ReadFull(r, data); err != nil {
		return err
	}
	return json.Unmarshal(data, v)
}

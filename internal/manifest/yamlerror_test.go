package manifest

import (
	"bytes"
	"errors"
	"io"
	"testing"

	yamlv3 "go.yaml.in/yaml/v3"
)

// decodeAll returns yaml.v3's first error decoding a stream.
func decodeAll(data []byte, into func() any) error {
	dec := yamlv3.NewDecoder(bytes.NewReader(data))
	for {
		err := dec.Decode(into())
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

func TestYAMLError(t *testing.T) {
	node := func() any { return &yamlv3.Node{} }
	tests := []struct {
		name     string
		data     string
		err      error // nil: decode data into nodes
		withData bool
		wantLine int
		wantMsg  string
	}{
		{
			name:     "the line yaml.v3 names",
			data:     "diff:\n  ignoreLabels: [a\n  ignoreAnnotations: b\n",
			wantLine: 1,
			wantMsg:  "did not find expected ',' or ']'",
		},
		{
			name:     "the first line that no longer parses",
			data:     "diff:\n  ignoreLabels: [a\n  ignoreAnnotations: b\n",
			withData: true,
			wantLine: 2,
			wantMsg:  "did not find expected ',' or ']'",
		},
		{
			name:     "an error on the first line names none",
			data:     "image: repo: tag\n",
			withData: true,
			wantLine: 1,
			wantMsg:  "mapping values are not allowed in this context",
		},
		{
			name:     "type errors: the first",
			data:     "a: [1]\nb: x\n",
			err:      yamlv3.Unmarshal([]byte("a: [1]\nb: x\n"), &struct{ A, B []string }{}),
			withData: true,
			wantLine: 2,
			wantMsg:  "cannot unmarshal !!str `x` into []string",
		},
		{
			name:     "a message another library passed on",
			err:      errors.New("invalid Kustomization: yaml: line 3: mapping values are not allowed in this context"),
			wantLine: 3,
			wantMsg:  "invalid Kustomization: yaml: line 3: mapping values are not allowed in this context",
		},
		{
			name:    "no line at all",
			err:     errors.New("unexpected end"),
			wantMsg: "unexpected end",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.err
			if err == nil {
				err = decodeAll([]byte(tt.data), node)
			}
			var data []byte
			if tt.withData {
				data = []byte(tt.data)
			}
			pe := YAMLError("f.yaml", data, err)
			if pe.File != "f.yaml" || pe.Line != tt.wantLine || pe.Err.Error() != tt.wantMsg {
				t.Errorf("YAMLError() = %s:%d %q, want f.yaml:%d %q", pe.File, pe.Line, pe.Err, tt.wantLine, tt.wantMsg)
			}
			if got := YAMLErrorLine(data, err); got != tt.wantLine {
				t.Errorf("YAMLErrorLine() = %d, want %d", got, tt.wantLine)
			}
		})
	}
}

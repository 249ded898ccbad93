// Package mdtest reads markdown the way GitHub shows it, for tests that
// check that untrusted text in ferry's comments, check runs and issues
// stays inert, and keeps their golden files. The markdown is rendered as GitHub Flavored Markdown
// (goldmark, raw HTML kept, as GitHub keeps it before sanitizing), and the
// HTML is read back: what it links, embeds, heads and mentions.
package mdtest

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/renderer/html"
	nethtml "golang.org/x/net/html"
)

// Doc is what a markdown document does beyond showing text.
type Doc struct {
	// Tags counts the HTML elements by name ("a", "img", "h3", "details").
	Tags map[string]int
	// Links and Images are the targets of links (autolinks included) and
	// images.
	Links, Images []string
	// Headings are the headings' text, in order.
	Headings []string
	// Comments are the HTML comments.
	Comments []string
	// Mentions are what GitHub would turn into a mention or a reference:
	// "@login", "@org/team", "#123", "GH-123", in text outside code.
	Mentions []string
	// Text is the visible text outside code, zero-width spaces removed.
	Text string
	// Code is the text of code spans and blocks, zero-width spaces removed.
	Code string
}

var gfm = goldmark.New(goldmark.WithExtensions(extension.GFM), goldmark.WithRendererOptions(html.WithUnsafe()))

// mentionRE finds GitHub's mentions and references. Like GitHub, it wants
// no word character right before them.
var mentionRE = regexp.MustCompile(`(?i)(?:^|[^\w/.])(@[a-z0-9][a-z0-9-]*(?:/[a-z0-9][a-z0-9_.-]*)?|#[0-9]+|\bGH-[0-9]+)`)

// Read renders md and reads the result.
func Read(t testing.TB, md string) Doc {
	t.Helper()
	var out bytes.Buffer
	if err := gfm.Convert([]byte(md), &out); err != nil {
		t.Fatalf("render markdown: %v", err)
	}
	root, err := nethtml.Parse(&out)
	if err != nil {
		t.Fatalf("read rendered markdown: %v", err)
	}
	d := Doc{Tags: map[string]int{}}
	var text, code strings.Builder
	var walk func(n *nethtml.Node, inCode bool)
	walk = func(n *nethtml.Node, inCode bool) {
		switch n.Type {
		case nethtml.ElementNode:
			d.Tags[n.Data]++
			switch n.Data {
			case "a":
				d.Links = append(d.Links, attr(n, "href"))
			case "img":
				d.Images = append(d.Images, attr(n, "src"))
			case "h1", "h2", "h3", "h4", "h5", "h6":
				d.Headings = append(d.Headings, strings.ReplaceAll(textOf(n), "\u200b", ""))
			case "code", "pre":
				inCode = true
			}
		case nethtml.CommentNode:
			d.Comments = append(d.Comments, n.Data)
		case nethtml.TextNode:
			if inCode {
				code.WriteString(n.Data)
				break
			}
			for _, m := range mentionRE.FindAllStringSubmatch(n.Data, -1) {
				d.Mentions = append(d.Mentions, m[1])
			}
			text.WriteString(n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c, inCode)
		}
	}
	walk(root, false)
	d.Text = strings.ReplaceAll(text.String(), "\u200b", "")
	d.Code = strings.ReplaceAll(code.String(), "\u200b", "")
	return d
}

func attr(n *nethtml.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func textOf(n *nethtml.Node) string {
	var sb strings.Builder
	var walk func(*nethtml.Node)
	walk = func(n *nethtml.Node) {
		if n.Type == nethtml.TextNode {
			sb.WriteString(n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return sb.String()
}

// Allow is what a document may do beyond ferry's own plain markup.
type Allow struct {
	// Headings are the headings' text, exactly and in order.
	Headings []string
	// Mentions are the mentions and references ferry means to make,
	// exactly and in order.
	Mentions []string
}

// Inert fails the test when md, which shows hostile text, does more than
// allow says: any link or image, an HTML comment other than ferry's
// marker, other headings or mentions, or an element outside ferry's
// vocabulary. It returns the Doc for further checks.
func Inert(t testing.TB, md string, allow Allow) Doc {
	t.Helper()
	d := Read(t, md)
	if len(d.Links) > 0 || len(d.Images) > 0 {
		t.Errorf("links %q and images %q in:\n%s", d.Links, d.Images, md)
	}
	if strings.Join(d.Mentions, "\n") != strings.Join(allow.Mentions, "\n") {
		t.Errorf("mentions or references %q, want %q, in:\n%s", d.Mentions, allow.Mentions, md)
	}
	for _, c := range d.Comments {
		if !strings.HasPrefix(c, " ferry:") {
			t.Errorf("HTML comment %q in:\n%s", c, md)
		}
	}
	if strings.Join(d.Headings, "\n") != strings.Join(allow.Headings, "\n") {
		t.Errorf("headings %q, want %q, in:\n%s", d.Headings, allow.Headings, md)
	}
	for tag := range d.Tags {
		if !ferryTags[tag] {
			t.Errorf("element <%s> in:\n%s", tag, md)
		}
	}
	return d
}

// ferryTags are the elements ferry's own markdown produces.
var ferryTags = map[string]bool{
	"html": true, "head": true, "body": true, "p": true, "br": true, "hr": true,
	"h3": true, "h4": true, "strong": true, "em": true, "b": true, "code": true, "pre": true,
	"ul": true, "ol": true, "li": true, "details": true, "summary": true,
	"table": true, "thead": true, "tbody": true, "tr": true, "th": true, "td": true,
}

// Golden compares got with testdata/name, or writes it there when update
// is set (a package's -update flag).
func Golden(t testing.TB, name string, got []byte, update bool) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file; got:\n%s", name, got)
	}
}

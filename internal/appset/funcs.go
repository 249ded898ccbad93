package appset

import (
	"fmt"
	"reflect"
	"regexp"
	"strings"
	"text/template"

	"github.com/Masterminds/sprig/v3"
	"sigs.k8s.io/yaml"
)

// removedFuncs are sprig functions templates cannot call. Argo CD removes
// env and expandenv; ferry also removes those that reach the network or
// burn seconds of CPU per call (key generation, bcrypt, scrypt), since a
// pull request's ApplicationSet is expanded in the server itself.
var removedFuncs = []string{
	"env", "expandenv", "getHostByName",
	"bcrypt", "htpasswd", "derivePassword", "genPrivateKey", "buildCustomCert",
	"genCA", "genCAWithKey", "genSelfSignedCert", "genSelfSignedCertWithKey",
	"genSignedCert", "genSignedCertWithKey",
}

// funcMap is sprig plus Argo CD's additions, each call guarded by the
// budget. printf, print and println replace text/template's builtins so
// they are guarded too.
func funcMap(b *budget) template.FuncMap {
	src := sprig.GenericFuncMap()
	for _, name := range removedFuncs {
		delete(src, name)
	}
	src["normalize"] = sanitizeName
	src["slugify"] = slugify
	src["toYaml"] = toYAML
	src["fromYaml"] = fromYAML
	src["fromYamlArray"] = fromYAMLArray
	src["printf"] = fmt.Sprintf
	src["print"] = fmt.Sprint
	src["println"] = fmt.Sprintln
	out := template.FuncMap{}
	for name, fn := range src {
		out[name] = guard(name, fn, b)
	}
	out[stepFunc] = func() (string, error) { return "", b.spend(1) }
	out[enterFunc] = b.enter
	out[leaveFunc] = b.leave
	return out
}

// guard wraps fn: each call takes a step, its arguments and results must
// be within the value limit, and functions whose output can dwarf their
// input are checked before they run. A failed check panics, which
// text/template turns into an execution error.
func guard(name string, fn any, b *budget) any {
	v := reflect.ValueOf(fn)
	t := v.Type()
	pre := preChecks[name]
	return reflect.MakeFunc(t, func(args []reflect.Value) []reflect.Value {
		if err := b.spend(1); err != nil {
			panic(err)
		}
		for _, a := range args {
			if err := b.sized(a); err != nil {
				panic(err)
			}
		}
		if pre != nil {
			if err := pre(b.lim, args); err != nil {
				panic(err)
			}
		}
		var out []reflect.Value
		if t.IsVariadic() {
			out = v.CallSlice(args)
		} else {
			out = v.Call(args)
		}
		for _, o := range out {
			if err := b.sized(o); err != nil {
				panic(err)
			}
		}
		return out
	}).Interface()
}

// maxValueDepth bounds how deeply a template value may nest (a map that
// contains itself is refused here).
const maxValueDepth = 64

// sized checks a value is within the value limit: string bytes plus list
// and map elements. Each element visited takes a step.
func (b *budget) sized(v reflect.Value) error {
	n := 0
	return b.measure(v, &n, 0)
}

func (b *budget) measure(v reflect.Value, n *int, depth int) error {
	if depth > maxValueDepth {
		return fmt.Errorf("%w: a template value nests deeper than %d", errLimit, maxValueDepth)
	}
	switch v.Kind() {
	case reflect.Interface, reflect.Pointer:
		if !v.IsNil() {
			return b.measure(v.Elem(), n, depth+1)
		}
	case reflect.String:
		*n += v.Len()
	case reflect.Slice, reflect.Array:
		*n += v.Len()
		if v.Type().Elem().Kind() != reflect.Uint8 {
			if err := b.spend(v.Len()); err != nil {
				return err
			}
			for i := 0; i < v.Len() && *n <= b.lim.Value; i++ {
				if err := b.measure(v.Index(i), n, depth+1); err != nil {
					return err
				}
			}
		}
	case reflect.Map:
		*n += v.Len()
		if err := b.spend(v.Len()); err != nil {
			return err
		}
		for it := v.MapRange(); it.Next() && *n <= b.lim.Value; {
			if err := b.measure(it.Key(), n, depth+1); err != nil {
				return err
			}
			if err := b.measure(it.Value(), n, depth+1); err != nil {
				return err
			}
		}
	default:
		*n++
	}
	if *n > b.lim.Value {
		return fmt.Errorf("%w: a template value is over %d bytes and elements", errLimit, b.lim.Value)
	}
	return nil
}

// preChecks estimate, before the call, the output of functions that can
// make much more than they are given.
var preChecks = map[string]func(limits, []reflect.Value) error{
	"repeat":                     func(l limits, a []reflect.Value) error { return within(l, intArg(a, 0)*int64(len(strArg(a, 1)))) },
	"indent":                     checkIndent,
	"nindent":                    checkIndent,
	"replace":                    checkReplace,
	"regexReplaceAll":            checkRegexReplace,
	"mustRegexReplaceAll":        checkRegexReplace,
	"regexReplaceAllLiteral":     checkRegexReplace,
	"mustRegexReplaceAllLiteral": checkRegexReplace,
	"wrap":                       func(l limits, a []reflect.Value) error { return within(l, 2*int64(len(strArg(a, 1)))) },
	"wrapWith": func(l limits, a []reflect.Value) error {
		return within(l, int64(len(strArg(a, 2)))*(1+int64(len(strArg(a, 1)))))
	},
	"until":        func(l limits, a []reflect.Value) error { return within(l, abs(intArg(a, 0))) },
	"untilStep":    checkUntilStep,
	"seq":          checkSeq,
	"randAlpha":    func(l limits, a []reflect.Value) error { return within(l, intArg(a, 0)) },
	"randAlphaNum": func(l limits, a []reflect.Value) error { return within(l, intArg(a, 0)) },
	"randNumeric":  func(l limits, a []reflect.Value) error { return within(l, intArg(a, 0)) },
	"randAscii":    func(l limits, a []reflect.Value) error { return within(l, intArg(a, 0)) },
	"randBytes":    func(l limits, a []reflect.Value) error { return within(l, intArg(a, 0)) },
	"printf":       checkPrintf,
	"uniq":         checkUniq,
	"mustUniq":     checkUniq,
}

// maxUniq bounds the lists uniq takes: it compares every element with
// every one kept, so its work grows with the square of the length.
const maxUniq = 4096

func checkUniq(_ limits, a []reflect.Value) error {
	if len(a) == 1 {
		v := a[0]
		for v.Kind() == reflect.Interface && !v.IsNil() {
			v = v.Elem()
		}
		if (v.Kind() == reflect.Slice || v.Kind() == reflect.Array) && v.Len() > maxUniq {
			return fmt.Errorf("%w: uniq takes lists of at most %d elements", errLimit, maxUniq)
		}
	}
	return nil
}

func within(l limits, n int64) error {
	if n > int64(l.String) || n < 0 {
		return fmt.Errorf("%w: a template function would make %d bytes or elements (the limit is %d)", errLimit, n, l.String)
	}
	return nil
}

func checkIndent(l limits, a []reflect.Value) error {
	s := strArg(a, 1)
	return within(l, abs(intArg(a, 0))*int64(strings.Count(s, "\n")+2)+int64(len(s)))
}

func checkReplace(l limits, a []reflect.Value) error {
	old, repl, src := strArg(a, 0), strArg(a, 1), strArg(a, 2)
	return within(l, int64(strings.Count(src, old))*int64(len(repl))+int64(len(src)))
}

func checkRegexReplace(l limits, a []reflect.Value) error {
	s, repl := strArg(a, 1), strArg(a, 2)
	per := int64(len(repl))
	if strings.Contains(repl, "$") {
		per *= int64(len(s)) + 1
	}
	return within(l, (int64(len(s))+1)*per+int64(len(s)))
}

func checkUntilStep(l limits, a []reflect.Value) error {
	start, stop, step := intArg(a, 0), intArg(a, 1), intArg(a, 2)
	if step == 0 {
		return nil
	}
	return within(l, abs((stop-start)/step))
}

func checkSeq(l limits, a []reflect.Value) error {
	if len(a) != 1 || a[0].Kind() != reflect.Slice {
		return nil
	}
	var first, last, step int64 = 1, 0, 1
	switch p := a[0]; p.Len() {
	case 1:
		last = p.Index(0).Int()
	case 2:
		first, last = p.Index(0).Int(), p.Index(1).Int()
	case 3:
		first, step, last = p.Index(0).Int(), p.Index(1).Int(), p.Index(2).Int()
	}
	if step == 0 {
		step = 1
	}
	// Each number takes up to 20 bytes.
	return within(l, 20*abs((last-first)/step))
}

// printfVerb finds width and precision in a format: %[flags][width][.prec].
var printfVerb = regexp.MustCompile(`%[-+# 0]*(\[\d+\])?(\*|\d+)?(\.(\[\d+\])?(\*|\d+)?)?`)

// maxPrintfWidth bounds printf's widths and precisions.
const maxPrintfWidth = 1000

func checkPrintf(_ limits, a []reflect.Value) error {
	for _, m := range printfVerb.FindAllStringSubmatch(strArg(a, 0), -1) {
		for _, w := range []string{m[2], m[5]} {
			var n int
			if w == "*" || (w != "" && (len(w) > 4 || func() bool { fmt.Sscan(w, &n); return n > maxPrintfWidth }())) {
				return fmt.Errorf("%w: printf widths and precisions are limited to %d", errLimit, maxPrintfWidth)
			}
		}
	}
	return nil
}

func intArg(a []reflect.Value, i int) int64 {
	if i < len(a) {
		switch v := a[i]; v.Kind() {
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			return v.Int()
		case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
			return int64(v.Uint())
		}
	}
	return 0
}

func strArg(a []reflect.Value, i int) string {
	if i < len(a) && a[i].Kind() == reflect.String {
		return a[i].String()
	}
	return ""
}

func abs(n int64) int64 {
	if n < 0 {
		return -n
	}
	return n
}

// toYAML, fromYAML and fromYAMLArray are Argo CD's template functions.
func toYAML(v any) (string, error) {
	b, err := yaml.Marshal(v)
	if err != nil {
		return "", err
	}
	return strings.TrimSuffix(string(b), "\n"), nil
}

func fromYAML(s string) (map[string]any, error) {
	var m map[string]any
	err := yaml.Unmarshal([]byte(s), &m)
	return m, err
}

func fromYAMLArray(s string) ([]any, error) {
	var a []any
	err := yaml.Unmarshal([]byte(s), &a)
	return a, err
}

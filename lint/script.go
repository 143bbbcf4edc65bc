package lint

import (
	"bytes"
	"errors"
	"path"
	"strconv"
	"strings"

	"mvdan.cc/sh/v3/syntax"

	"github.com/restorekit/restorekit/render"
)

// Script is a parsed script with what several rules need to know about it.
type Script struct {
	Name     string // file name as findings show it
	Template string // template it was rendered from, if known
	Role     Role
	Src      []byte
	File     *syntax.File

	// Funcs are the functions the script defines, by name.
	Funcs map[string]*syntax.FuncDecl
	// SourcedFuncs are the functions the files it sources define (followed as
	// ShellCheck follows them, see sourcedPaths), by name.
	SourcedFuncs map[string]*syntax.FuncDecl
	// CallerFuncs are, for a file other scripts source, the functions every one of
	// them defines, by name: the library may call them back.
	CallerFuncs map[string]*syntax.FuncDecl
	// Assigns are every assignment to each variable, in source order.
	Assigns map[string][]*syntax.Assign
	// Calls are the commands the script runs, wrappers (sudo, env, timeout, pass-through
	// functions...) unwrapped into one call each, in source order.
	Calls []*Call
}

// Call is one command a simple command runs.
type Call struct {
	Expr *syntax.CallExpr
	// Name is the command name when it is a literal word ("" when computed at run time).
	Name string
	// NameWord is the word naming the command (for positions).
	NameWord *syntax.Word
	// Args are the words after the command name.
	Args []*syntax.Word
	// ArrayArgs are literal texts the command receives from an array it was run
	// through ("${SSH[@]}" host ... with SSH=(ssh -o BatchMode=yes)).
	ArrayArgs []string
}

// parseScript parses src; a parse error comes back as the file's one finding.
func parseScript(name, template string, role Role, src []byte) (*Script, *Finding) {
	f, err := render.NewParser().Parse(bytes.NewReader(src), name)
	if err != nil {
		fd := Finding{File: name, Template: template, Line: 1, Col: 1, Severity: SeverityError, Rule: ParseRuleName, Message: err.Error()}
		var pe syntax.ParseError
		var le syntax.LangError
		switch {
		case errors.As(err, &pe):
			fd.Line, fd.Col, fd.Message = int(pe.Pos.Line()), int(pe.Pos.Col()), pe.Text
		case errors.As(err, &le):
			fd.Line, fd.Col = int(le.Pos.Line()), int(le.Pos.Col())
			fd.Message = strings.TrimPrefix(err.Error(), le.Filename+":"+le.Pos.String()+": ")
		}
		return nil, &fd
	}
	s := &Script{Name: name, Template: template, Role: role, Src: src, File: f,
		Funcs: map[string]*syntax.FuncDecl{}, Assigns: map[string][]*syntax.Assign{}}
	syntax.Walk(f, func(n syntax.Node) bool {
		switch n := n.(type) {
		case *syntax.FuncDecl:
			s.Funcs[n.Name.Value] = n
		case *syntax.Assign:
			if n.Name != nil {
				s.Assigns[n.Name.Value] = append(s.Assigns[n.Name.Value], n)
			}
		}
		return true
	})
	s.findCalls()
	return s, nil
}

// findCalls lists the commands the script runs, through the pass-through functions
// it defines or sources.
func (s *Script) findCalls() {
	passThrough := map[string]int{}
	for _, funcs := range []map[string]*syntax.FuncDecl{s.SourcedFuncs, s.Funcs} {
		for name, fn := range funcs {
			if skip, ok := runsArgs(fn); ok {
				passThrough[name] = skip
			} else {
				delete(passThrough, name) // the script's own definition wins
			}
		}
	}
	s.Calls = nil
	syntax.Walk(s.File, func(n syntax.Node) bool {
		if c, ok := n.(*syntax.CallExpr); ok && len(c.Args) > 0 {
			s.Calls = append(s.Calls, s.unwrap(c, passThrough)...)
		}
		return true
	})
}

// runsArgs reports whether a function runs its arguments as a command ("$@"), as a
// dry-run wrapper does: calls through it are judged as calls of the wrapped command.
// skip is how many leading arguments the function shifts away before running the
// rest ("shift" and "shift N" written before the "$@" command).
func runsArgs(fn *syntax.FuncDecl) (skip int, ok bool) {
	syntax.Walk(fn.Body, func(n syntax.Node) bool {
		c, isCall := n.(*syntax.CallExpr)
		if ok || !isCall || len(c.Args) == 0 {
			return !ok
		}
		if isAllArgs(c.Args[0]) {
			ok = true
			return false
		}
		if c.Args[0].Lit() == "shift" {
			n := 1
			if len(c.Args) > 1 {
				if v, err := strconv.Atoi(c.Args[1].Lit()); err == nil {
					n = v
				}
			}
			skip += n
		}
		return true
	})
	return skip, ok
}

// literal is the value of a word without expansions ("ssh", 'a b', x), and false
// for a word whose value is only known at run time.
func literal(w *syntax.Word) (string, bool) {
	var b strings.Builder
	var parts func([]syntax.WordPart) bool
	parts = func(ps []syntax.WordPart) bool {
		for _, p := range ps {
			switch p := p.(type) {
			case *syntax.Lit:
				b.WriteString(unescape(p.Value))
			case *syntax.SglQuoted:
				if p.Dollar {
					return false
				}
				b.WriteString(p.Value)
			case *syntax.DblQuoted:
				if !parts(p.Parts) {
					return false
				}
			default:
				return false
			}
		}
		return true
	}
	if !parts(w.Parts) {
		return "", false
	}
	return b.String(), true
}

// isAllArgs reports whether w is "$@" or $@ (or the ${@} forms).
func isAllArgs(w *syntax.Word) bool {
	if len(w.Parts) != 1 {
		return false
	}
	part := w.Parts[0]
	if dq, ok := part.(*syntax.DblQuoted); ok && len(dq.Parts) == 1 {
		part = dq.Parts[0]
	}
	pe, ok := part.(*syntax.ParamExp)
	return ok && pe.Param != nil && pe.Param.Value == "@" && pe.Exp == nil && pe.Slice == nil && pe.Repl == nil
}

// unwrap turns one simple command into the calls it makes: "sudo -E timeout 5 cmd a"
// is a call of sudo, one of timeout and one of cmd.
func (s *Script) unwrap(c *syntax.CallExpr, passThrough map[string]int) []*Call {
	var calls []*Call
	words := c.Args
	var arrayArgs []string
	for depth := 0; len(words) > 0 && depth < 8; depth++ {
		call := &Call{Expr: c, NameWord: words[0], Args: words[1:], ArrayArgs: arrayArgs}
		call.Name, _ = literal(words[0])
		if call.Name == "" {
			if arr, elems := s.arrayCommand(words[0]); arr != "" {
				// "${SSH[@]}" runs the array's first element with the rest as arguments.
				call.Name, call.ArrayArgs = elems[0], append(elems[1:len(elems):len(elems)], arrayArgs...)
			} else if v, ok := s.scalarValue(words[0]); ok {
				call.Name = v // "$CLUSTER_RESTORE" with CLUSTER_RESTORE=/usr/local/bin/...
			}
		}
		calls = append(calls, call)
		next := wrappedCommand(call.Name, call.Args)
		if skip, ok := passThrough[call.Name]; ok && next < 0 {
			next = skip
		}
		if next < 0 || next >= len(call.Args) {
			break
		}
		words, arrayArgs = call.Args[next:], nil
	}
	return calls
}

// arrayCommand resolves a command word "${NAME[@]}" to the literal elements of NAME's
// array assignments in scope (see AssignsAt) when they all start with the same literal.
func (s *Script) arrayCommand(w *syntax.Word) (string, []string) {
	pe := soleParam(w)
	if pe == nil || pe.Index == nil {
		return "", nil
	}
	// Every assignment that sets (rather than appends to) the array must start with the
	// same literal command; the elements of all of them are its arguments.
	first := ""
	var args []string
	for _, a := range s.AssignsAt(pe.Param.Value, w.Pos()) {
		if a.Array == nil {
			return "", nil
		}
		elems := a.Array.Elems
		if !a.Append {
			if len(elems) == 0 || elems[0].Value == nil || elems[0].Value.Lit() == "" || (first != "" && first != elems[0].Value.Lit()) {
				return "", nil
			}
			first, elems = elems[0].Value.Lit(), elems[1:]
		}
		for _, e := range elems {
			if e.Value != nil {
				args = append(args, wordText(e.Value))
			}
		}
	}
	if first == "" {
		return "", nil
	}
	return pe.Param.Value, append([]string{first}, args...)
}

// soleParam returns the parameter expansion a word consists of ($x, "$x", "${x[@]}").
func soleParam(w *syntax.Word) *syntax.ParamExp {
	if w == nil || len(w.Parts) != 1 {
		return nil
	}
	part := w.Parts[0]
	if dq, ok := part.(*syntax.DblQuoted); ok && len(dq.Parts) == 1 {
		part = dq.Parts[0]
	}
	if pe, ok := part.(*syntax.ParamExp); ok && pe.Param != nil {
		return pe
	}
	return nil
}

// wrappedCommand returns the index in args of the command a wrapper runs, or -1 when
// name does not run another command.
func wrappedCommand(name string, args []*syntax.Word) int {
	// withArg are the options of each wrapper that take a separate argument.
	var withArg string
	name = path.Base(name)
	switch name {
	case "sudo":
		withArg = "ugCDhprtUTcg"
	case "env":
		withArg = "uCS"
	case "exec":
		withArg = "a"
	case "nice":
		withArg = "n"
	case "timeout":
		withArg = "sk"
	case "xargs":
		withArg = "aEeIiLlnPsd"
	case "stdbuf":
		withArg = "ioe"
	case "nohup", "builtin", "command":
	default:
		return -1
	}
	i := 0
	for i < len(args) {
		a := args[i].Lit()
		if a == "--" {
			i++
			break
		}
		if name == "command" && (a == "-v" || a == "-V") {
			return -1 // command -v only looks a name up
		}
		if strings.HasPrefix(a, "--") {
			i++
			continue
		}
		if strings.HasPrefix(a, "-") && len(a) > 1 {
			last := a[len(a)-1:]
			i++
			if len(a) == 2 && strings.Contains(withArg, last) {
				i++
			}
			continue
		}
		if (name == "env" || name == "sudo") && strings.Contains(a, "=") && syntax.ValidName(a[:strings.Index(a, "=")]) {
			i++
			continue
		}
		break
	}
	if name == "timeout" && i < len(args) {
		i++ // the duration
	}
	return i
}

// wordText is the text a word stands for with quotes removed and every expansion
// kept as written: BatchMode=yes, ConnectTimeout=$t, "$RUN_DIR/run.log".
func wordText(w *syntax.Word) string {
	var b strings.Builder
	var parts func([]syntax.WordPart)
	parts = func(ps []syntax.WordPart) {
		for _, p := range ps {
			switch p := p.(type) {
			case *syntax.Lit:
				b.WriteString(p.Value)
			case *syntax.SglQuoted:
				b.WriteString(p.Value)
			case *syntax.DblQuoted:
				parts(p.Parts)
			default:
				b.WriteString("${}") // an expansion: its value is not known here
			}
		}
	}
	parts(w.Parts)
	return b.String()
}

// source is the text of a node as written in the script.
func (s *Script) source(n syntax.Node) string {
	start, end := n.Pos().Offset(), n.End().Offset()
	if int(end) > len(s.Src) || start > end {
		return ""
	}
	return string(s.Src[start:end])
}

// AssignsAt are the assignments to a variable that a use at pos sees, by a simple
// scope rule: when the function around pos (or the top level, outside every function)
// assigns the variable, only those assignments; otherwise every one in the script.
func (s *Script) AssignsAt(name string, pos syntax.Pos) []*syntax.Assign {
	all := s.Assigns[name]
	var fn *syntax.FuncDecl
	for _, f := range s.Funcs {
		if within(pos, f) && (fn == nil || within(f.Pos(), fn)) {
			fn = f // the innermost function around pos
		}
	}
	var local []*syntax.Assign
	for _, a := range all {
		if fn != nil && within(a.Pos(), fn) || fn == nil && !s.inFunc(a.Pos()) {
			local = append(local, a)
		}
	}
	if len(local) == 0 {
		return all
	}
	return local
}

// within reports whether pos lies inside node.
func within(pos syntax.Pos, n syntax.Node) bool {
	return pos.Offset() >= n.Pos().Offset() && pos.Offset() < n.End().Offset()
}

// inFunc reports whether pos lies inside one of the script's functions.
func (s *Script) inFunc(pos syntax.Pos) bool {
	for _, f := range s.Funcs {
		if within(pos, f) {
			return true
		}
	}
	return false
}

// scalarValue resolves a word "$NAME" (or "${NAME}") to NAME's value when every
// assignment in scope (see AssignsAt) sets it to the same literal.
func (s *Script) scalarValue(w *syntax.Word) (string, bool) {
	pe := soleParam(w)
	if pe == nil || pe.Index != nil || pe.Exp != nil || pe.Repl != nil || pe.Slice != nil || pe.Excl || pe.Length {
		return "", false
	}
	value, found := "", false
	for _, a := range s.AssignsAt(pe.Param.Value, w.Pos()) {
		if a.Naked && a.Value == nil {
			continue // readonly NAME, local NAME
		}
		if a.Append || a.Array != nil || a.Value == nil {
			return "", false
		}
		v, ok := literal(a.Value)
		if !ok || (found && v != value) {
			return "", false
		}
		value, found = v, true
	}
	return value, found && value != ""
}

// unescape removes the backslashes of an unquoted literal (\rm is rm).
func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

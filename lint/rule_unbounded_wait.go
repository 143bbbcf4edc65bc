package lint

import (
	"path"
	"regexp"

	"mvdan.cc/sh/v3/syntax"
)

// UnboundedWaitRule wants every polling loop bounded by a deadline.
var UnboundedWaitRule = &Rule{
	Name: "unbounded-wait",
	Doc: `A while, until or for ((;;)) loop that sleeps (it polls; calling one of the
script's functions that sleeps counts) checks a timeout, so a wait that never ends
fails with exit 3 instead of hanging the recovery. The loop counts as bounded when its condition holds
a numeric comparison ((( )), $(( )), [[ -lt ]], [ -gt ], test), or its body holds a
numeric comparison that reads a deadline-like value: a variable whose name contains
deadline, timeout, expire, elapsed, attempt, tries, retries, remaining, limit, max
or end, bash's SECONDS, or $(date +%s). A call to one of the script's functions
that holds such a comparison counts too (a helper such as check_deadline "$deadline").`,
	Severity: SeverityError,
	Check:    checkUnboundedWait,
}

var deadlineName = regexp.MustCompile(`(?i)deadline|timeout|expire|elapsed|attempt|tries|retries|remaining|limit|max|^end|_end|^seconds$`)

func checkUnboundedWait(p *Pass) {
	sleepy := sleepers(p.Script)
	bounding := map[string]bool{}
	for name, fn := range p.Funcs {
		if hasComparison(fn.Body, true) {
			bounding[name] = true
		}
	}
	bounded := func(cond, body []*syntax.Stmt) bool {
		for _, st := range cond {
			if hasComparison(st, false) || callsAny(st, bounding) {
				return true
			}
		}
		for _, st := range body {
			if hasComparison(st, true) || callsAny(st, bounding) {
				return true
			}
		}
		return false
	}
	syntax.Walk(p.File, func(n syntax.Node) bool {
		switch n := n.(type) {
		case *syntax.WhileClause:
			if sleeps(n.Cond, n.Do, sleepy) && !bounded(n.Cond, n.Do) {
				kw := "while"
				if n.Until {
					kw = "until"
				}
				p.Reportf(n.WhilePos, "%s loop polls with sleep but never checks a deadline: compare $(date +%%s) with a deadline and exit 3 when it passes", kw)
			}
		case *syntax.ForClause:
			// for ((;;)) without a condition is while true.
			if c, ok := n.Loop.(*syntax.CStyleLoop); ok && c.Cond == nil && sleeps(nil, n.Do, sleepy) && !bounded(nil, n.Do) {
				p.Reportf(n.ForPos, "for ((;;)) loop polls with sleep but never checks a deadline: compare $(date +%%s) with a deadline and exit 3 when it passes")
			}
		}
		return true
	})
}

// sleeps reports whether a loop calls sleep in its condition or body, directly or
// through one of the script's functions (sleepers).
func sleeps(cond, body []*syntax.Stmt, sleepers map[string]bool) bool {
	for _, st := range append(append([]*syntax.Stmt{}, cond...), body...) {
		if callsSleep(st, sleepers) {
			return true
		}
	}
	return false
}

// callsSleep reports whether n calls sleep or one of the sleepers.
func callsSleep(n syntax.Node, sleepers map[string]bool) bool {
	found := false
	syntax.Walk(n, func(n syntax.Node) bool {
		if c, ok := n.(*syntax.CallExpr); ok && len(c.Args) > 0 {
			name := c.Args[0].Lit()
			found = path.Base(name) == "sleep" || sleepers[name]
		}
		return !found
	})
	return found
}

// sleepers are the script's functions that sleep, directly or through each other.
func sleepers(s *Script) map[string]bool {
	m := map[string]bool{}
	for changed := true; changed; {
		changed = false
		for name, fn := range s.Funcs {
			if !m[name] && callsSleep(fn.Body, m) {
				m[name], changed = true, true
			}
		}
	}
	return m
}

// callsAny reports whether n calls one of the named functions.
func callsAny(n syntax.Node, names map[string]bool) bool {
	found := false
	syntax.Walk(n, func(n syntax.Node) bool {
		if c, ok := n.(*syntax.CallExpr); ok && len(c.Args) > 0 && names[c.Args[0].Lit()] {
			found = true
		}
		return !found
	})
	return found
}

// hasComparison reports whether n holds a numeric comparison; with needDeadline, only
// one that reads a deadline-like value counts.
func hasComparison(n syntax.Node, needDeadline bool) bool {
	found := false
	ok := func(x syntax.Node) bool { return !needDeadline || readsDeadline(x) }
	syntax.Walk(n, func(n syntax.Node) bool {
		if found {
			return false
		}
		switch n := n.(type) {
		case *syntax.BinaryTest:
			switch n.Op {
			case syntax.TsEql, syntax.TsNeq, syntax.TsLeq, syntax.TsGeq, syntax.TsLss, syntax.TsGtr:
				found = ok(n)
			}
		case *syntax.BinaryArithm:
			switch n.Op {
			case syntax.Eql, syntax.Neq, syntax.Leq, syntax.Geq, syntax.Lss, syntax.Gtr:
				found = ok(n)
			}
		case *syntax.CallExpr:
			if len(n.Args) == 0 {
				break
			}
			if name := n.Args[0].Lit(); name == "[" || name == "test" {
				for _, a := range n.Args[1:] {
					switch a.Lit() {
					case "-eq", "-ne", "-lt", "-le", "-gt", "-ge":
						found = ok(n)
					}
				}
			}
		}
		return !found
	})
	return found
}

// readsDeadline reports whether n reads a deadline-like variable, SECONDS or the time.
func readsDeadline(n syntax.Node) bool {
	found := false
	syntax.Walk(n, func(n syntax.Node) bool {
		switch n := n.(type) {
		case *syntax.ParamExp:
			if n.Param != nil && deadlineName.MatchString(n.Param.Value) {
				found = true
			}
		case *syntax.Word:
			// a bare name inside (( )) reads the variable
			if lit := n.Lit(); syntax.ValidName(lit) && deadlineName.MatchString(lit) {
				found = true
			}
		case *syntax.CallExpr:
			if len(n.Args) >= 2 && n.Args[0].Lit() == "date" {
				for _, a := range n.Args[1:] {
					if wordText(a) == "+%s" {
						found = true
					}
				}
			}
		}
		return !found
	})
	return found
}

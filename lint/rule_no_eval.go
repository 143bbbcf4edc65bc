package lint

import "path"

// NoEvalRule forbids eval.
var NoEvalRule = &Rule{
	Name: "no-eval",
	Doc: `Scripts never call eval (directly or through sudo, command, builtin...): code
built from strings at run time cannot be reviewed before the outage, and a value from
the inventory could become a command. Use arrays for commands built step by step.`,
	Severity: SeverityError,
	Check:    checkNoEval,
}

func checkNoEval(p *Pass) {
	for _, c := range p.Calls {
		if path.Base(c.Name) == "eval" {
			p.Reportf(c.NameWord.Pos(), "eval runs code built at run time: run the command directly or from an array")
		}
	}
}

# progress.awk: `go test -v ./e2e/` output reduced to one line per scenario as it
# finishes (make test). The output of a scenario is kept back and shown only when it
# fails or is skipped (the reason); anything outside a scenario is shown as it comes.
# Usage: go test -v ./e2e/ 2>&1 | awk -f e2e/progress.awk

# A scenario starts, resumes, or writes again: later lines are its output.
/^=== (RUN|CONT|PAUSE|NAME) / {
  cur = $3
  sub(/\/.*/, "", cur)
  if (!(cur in started)) {
    started[cur] = 1
    order[++n] = cur
  }
  next
}

# A scenario's verdict: "--- PASS: TestX (12.30s)".
/^--- (PASS|FAIL|SKIP): / {
  name = $3
  done[name] = 1
  if ($2 != "PASS:") {
    printf "%s", out[name]
  }
  print
  fflush()
  failed = ($2 == "FAIL:")
  cur = ""
  next
}

# Subtests' verdicts follow their parent's; only failures are worth a line.
/^ +--- (PASS|SKIP): / { next }
/^ +--- FAIL: / { if (failed) { print; fflush() } next }

# The package summary: first whatever a scenario left unfinished (a panic, a timeout).
/^(ok|FAIL|PASS)([ \t]|$)/ {
  flush_unfinished()
  print
  fflush()
  cur = ""
  next
}

{
  if (cur == "") {
    print
    fflush()
  } else {
    out[cur] = out[cur] $0 "\n"
  }
}

function flush_unfinished(   i, t) {
  for (i = 1; i <= n; i++) {
    t = order[i]
    if (!(t in done) && out[t] != "") {
      printf "%s(%s did not finish)\n", out[t], t
      out[t] = ""
    }
  }
}

END { flush_unfinished() }

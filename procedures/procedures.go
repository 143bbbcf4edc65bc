// Package procedures holds the procedure pages the profiles follow, copies of the
// project's shared documents; every kit carries the page it follows. It is data only.
package procedures

import "embed"

// FS holds the pages by their names ("procedure.md", "procedure-4.18.md").
//
//go:embed *.md
var FS embed.FS

// Package templates holds the templates a recovery kit is rendered from; it is data only.
package templates

import "embed"

// FS holds every template: one per kit artifact, partials prefixed with "_".
//
//go:embed *.tmpl hosts/*.tmpl lib/*.tmpl runbook/*.tmpl
var FS embed.FS

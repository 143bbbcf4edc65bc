package inventory

import _ "embed"

// Example is a fully commented inventory that explains every field and shows every
// default; restorekit init writes it. It is valid as it stands.
//
//go:embed example.yaml
var Example string

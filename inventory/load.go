package inventory

import (
	"bytes"
	"fmt"
	"os"

	"gopkg.in/yaml.v3"
)

// LoadOptions tune Load.
type LoadOptions struct {
	// Offline skips reading backup.localDir and trusts backup.files as recorded
	// (re-rendering a kit from its normalized inventory on another machine).
	Offline bool
}

// Problem is one thing wrong (or, for a warning, worth a look) in an inventory file.
type Problem struct {
	File    string
	Line    int
	Col     int
	Field   string // dotted path such as masters[2].address; empty for the whole file
	Message string // what is wrong (what would be valid)
	Warning bool
}

func (p Problem) String() string {
	s := fmt.Sprintf("%s:%d:%d: ", p.File, p.Line, p.Col)
	if p.Field != "" {
		s += p.Field + ": "
	}
	return s + p.Message
}

// Error is every error-level problem of an inventory, sorted by line.
type Error struct{ Problems []Problem }

func (e *Error) Error() string {
	var b bytes.Buffer
	for i, p := range e.Problems {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(p.String())
	}
	return b.String()
}

// Load reads, decodes and validates an inventory file. It returns the inventory with
// defaults filled in and any warnings, or an *Error listing every problem.
func Load(path string, opts LoadOptions) (*Inventory, []Problem, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	return Parse(path, data, opts)
}

// Parse is Load for bytes already read; name is used in messages and to resolve
// a relative backup.localDir.
func Parse(name string, data []byte, opts LoadOptions) (*Inventory, []Problem, error) {
	var inv Inventory
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&inv); err != nil {
		return nil, nil, &Error{Problems: []Problem{{File: name, Line: 1, Col: 1, Message: err.Error()}}}
	}
	inv.Path = name
	ApplyDefaults(&inv)
	return &inv, nil, nil
}

// ApplyDefaults fills every field left empty with its default.
func ApplyDefaults(inv *Inventory) {
	if inv.SSH.User == "" {
		inv.SSH.User = DefaultSSHUser
	}
	if inv.SSH.Port == 0 {
		inv.SSH.Port = DefaultSSHPort
	}
	if inv.SSH.StrictHostKeyChecking == "" {
		inv.SSH.StrictHostKeyChecking = DefaultStrictHostKeyChecking
	}
	if inv.SSH.ConnectTimeout == 0 {
		inv.SSH.ConnectTimeout = DefaultConnectTimeout
	}
	if inv.Backup.RemoteDir == "" {
		inv.Backup.RemoteDir = DefaultRemoteDir
	}
	if inv.QuarantineDir == "" {
		inv.QuarantineDir = DefaultQuarantineDir
	}
	t, d := &inv.Timeouts, DefaultTimeouts
	for _, p := range []struct {
		v   *Duration
		def Duration
	}{
		{&t.StaticPodStop, d.StaticPodStop}, {&t.Restore, d.Restore}, {&t.KubeletRestart, d.KubeletRestart},
		{&t.SingleMember, d.SingleMember}, {&t.EtcdRollout, d.EtcdRollout}, {&t.KubeAPIServerRollout, d.KubeAPIServerRollout},
		{&t.KubeControllerManagerRollout, d.KubeControllerManagerRollout}, {&t.KubeSchedulerRollout, d.KubeSchedulerRollout},
		{&t.PollInterval, d.PollInterval},
	} {
		if *p.v == 0 {
			*p.v = p.def
		}
	}
}

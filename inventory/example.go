package inventory

import (
	_ "embed"
	"fmt"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"
)

// Example is a fully commented inventory that explains every field and shows every
// default; restorekit init writes it. It is valid as it stands, but its masters are
// placeholders that validation warns about.
//
//go:embed example.yaml
var Example string

// exampleFile is the file name Example's header tells the reader to validate.
const exampleFile = "inventory.yaml"

// ExampleFor is Example with its header naming file (as a shell word) as the file
// to validate.
func ExampleFor(file string) string {
	const line = "#   restorekit validate " + exampleFile + "\n"
	return strings.Replace(Example, line, "#   restorekit validate "+file+"\n", 1)
}

// exampleMasters are the placeholder hosts of Example.
var exampleMasters = sync.OnceValue(func() []Master {
	var inv Inventory
	if err := yaml.Unmarshal([]byte(Example), &inv); err != nil {
		panic(fmt.Sprintf("inventory: the embedded example does not decode: %v", err))
	}
	return inv.Masters
})

// checkExampleHosts warns when masters are still the example's placeholders: the
// file is valid, so nothing else would say that restorekit init's output was never
// filled in.
func (c *checker) checkExampleHosts() {
	if !c.ok("masters") {
		return
	}
	names, addrs := map[string]bool{}, map[string]bool{}
	for _, m := range exampleMasters() {
		names[m.Name], addrs[m.Address] = true, true
	}
	var left []string
	for _, m := range c.inv.Masters {
		switch {
		case names[m.Name]:
			left = append(left, m.Name)
		case addrs[m.Address]:
			left = append(left, m.Address)
		}
	}
	if len(left) == 0 {
		return
	}
	c.warnf("masters", "restorekit init's example values are unchanged (%s): put in your cluster's control-plane hosts, with the names and addresses oc get nodes -o wide shows", strings.Join(left, ", "))
}

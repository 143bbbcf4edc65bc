package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// The 4.5 model's CSRs (Cluster.RotatedKubeletCerts) described and approved: oc
// describe csr prints the subject (system:node:<node> for a kubelet's CSR, the
// requester's name otherwise), oc adm certificate approve marks one approved
// (approved-<name> in the oc state) and, for a kubelet's CSR, makes its master Ready.
func (o *fakeOC) runCSR45(args []string) (int, bool) {
	if o.sim.Minor >= 16 {
		return 0, false
	}
	var words []string
	for i := 0; i < len(args); i++ {
		switch {
		case args[i] == "--kubeconfig" || args[i] == "--request-timeout":
			i++
		case strings.HasPrefix(args[i], "-"):
		default:
			words = append(words, args[i])
		}
	}
	describe := len(words) == 3 && words[0] == "describe" && strings.HasPrefix(words[1], "csr")
	approve := len(words) == 4 && words[0] == "adm" && words[1] == "certificate" && words[2] == "approve"
	if !describe && !approve {
		return 0, false
	}
	if msg := o.apiDown(); msg != "" {
		return o.fail("%s", msg), true
	}
	name := words[len(words)-1]
	user := strings.TrimSpace(readFileOr(filepath.Join(o.sim.OCState, name)))
	if !strings.HasPrefix(name, "csr-") || user == "" || !o.restored() {
		return o.fail("Error from server (NotFound): certificatesigningrequests.certificates.k8s.io %q not found", name), true
	}
	cn := user
	if !strings.HasPrefix(user, "system:node:") {
		cn = "system:node:" + ForeignNode
	}
	if describe {
		fmt.Fprintf(o.stdout, "Name:               %s\nRequesting User:    %s\nSigner:             kubernetes.io/kube-apiserver-client-kubelet\nStatus:             Pending\nSubject:\n         Common Name:    %s\n         Serial Number:  \n         Organization:   system:nodes\nEvents:  <none>\n", name, user, cn)
		return 0, true
	}
	_ = os.WriteFile(filepath.Join(o.sim.OCState, "approved-"+name), []byte(user+"\n"), 0o644)
	o.event("csr-approved %s %s", name, user)
	if node, ok := strings.CutPrefix(user, "system:node:"); ok {
		_ = os.Remove(filepath.Join(o.sim.OCState, "notready-"+node))
	}
	fmt.Fprintf(o.stdout, "certificatesigningrequest.certificates.k8s.io/%s approved\n", name)
	return 0, true
}

package importer

import (
	"fmt"
	"net"
	"sort"
	"strings"

	"github.com/restorekit/restorekit/inventory"
)

// The role labels that mark a control-plane node; their values are empty strings.
// OpenShift 4 sets master; newer releases set control-plane as well.
const (
	labelMaster       = "node-role.kubernetes.io/master"
	labelControlPlane = "node-role.kubernetes.io/control-plane"
	labelWorker       = "node-role.kubernetes.io/worker"
)

const captureNodes = "oc get nodes -o json"

// node is what the import takes from one Node object.
type node struct {
	v            value
	name         string
	controlPlane bool
	worker       bool
	ready        string // the Ready condition's status: True, False or Unknown
	readyWhy     string // its reason, when not True
	candidates   []address
	hostname     string // the Hostname address, when it differs from the name
	// set by pickAddresses
	address address
	also    []address // other usable addresses, for the comment
}

// address is one entry of status.addresses that ssh could use.
type address struct {
	ip     string
	kind   string // InternalIP or ExternalIP
	v      value
	shared string // the other nodes that report it too
}

func (a address) family() string {
	if strings.Contains(a.ip, ":") {
		return "IPv6"
	}
	return "IPv4"
}

// readNodes reads every Node of an oc get nodes output.
func readNodes(src *source) []*node {
	var out []*node
	for _, o := range src.objects("Node", captureNodes) {
		md := o.get("metadata")
		nameV := md.get("name")
		n := &node{v: o, name: nameV.str()}
		if n.name == "" {
			if nameV.n == nil {
				nameV.errorf("missing (every node has a name: is this %s?)", captureNodes)
			}
			continue
		}
		if !inventory.IsNodeName(n.name) {
			nameV.errorf("%q is not a node name (a DNS-1123 subdomain)", n.name)
			continue
		}
		labels := md.get("labels")
		n.controlPlane = labels.has(labelMaster) || labels.has(labelControlPlane)
		n.worker = labels.has(labelWorker)
		n.ready, n.readyWhy = "Unknown", "no Ready condition"
		for _, c := range o.get("status").get("conditions").list() {
			if c.get("type").str() != "Ready" {
				continue
			}
			n.ready = c.get("status").str()
			n.readyWhy = c.get("reason").str()
			switch n.ready {
			case "True", "False", "Unknown":
			default:
				c.get("status").warnf("%q is not a condition status (True, False or Unknown): taken as Unknown", n.ready)
				n.ready = "Unknown"
			}
		}
		n.readAddresses(o.get("status").get("addresses"))
		out = append(out, n)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// readAddresses keeps the IP addresses ssh can use, best first: InternalIP before
// ExternalIP (masters are reached from inside the cluster's network), IPv4 before
// IPv6 within each.
func (n *node) readAddresses(addrs value) {
	seen := map[string]bool{} // type and address
	var byRank [4][]address
	for _, a := range addrs.list() {
		typ, ipV := a.get("type").str(), a.get("address")
		ip := ipV.str()
		switch typ {
		case "Hostname":
			if n.hostname == "" && ip != n.name && ip != "" {
				if inventory.IsHostName(ip) {
					n.hostname = ip
				} else {
					ipV.warnf("%q is not a host name: left out of the inventory's hostname", ip)
				}
			}
			continue
		case "InternalIP", "ExternalIP":
		default:
			continue // InternalDNS, ExternalDNS: names, where the IPs are what ssh needs
		}
		parsed := net.ParseIP(ip)
		if parsed == nil {
			ipV.warnf("%q is not an IP address: not used", ip)
			continue
		}
		if seen[typ+" "+ip] {
			ipV.warnf("%s is listed twice as %s of node %s", ip, typ, n.name)
			continue
		}
		seen[typ+" "+ip] = true
		rank := 0
		if typ == "ExternalIP" {
			rank = 2
		}
		if parsed.To4() == nil {
			rank++
		}
		byRank[rank] = append(byRank[rank], address{ip: ip, kind: typ, v: ipV})
	}
	// One IP listed with both types (vSphere does) counts once, at its better rank.
	seenIP := map[string]bool{}
	for _, r := range byRank {
		for _, a := range r {
			if !seenIP[a.ip] {
				seenIP[a.ip] = true
				n.candidates = append(n.candidates, a)
			}
		}
	}
}

// pickAddresses chooses each host's address (masters, then workers): its best address that no other node
// also reports (two nodes with one address would send ssh to the wrong host).
func pickAddresses(nodes []*node, masters []*node) {
	owners := map[string][]string{}
	for _, n := range nodes {
		for _, a := range n.candidates {
			owners[a.ip] = append(owners[a.ip], n.name)
		}
	}
	others := func(n *node, ip string) []string {
		var o []string
		for _, name := range owners[ip] {
			if name != n.name {
				o = append(o, name)
			}
		}
		return o
	}
	for _, m := range masters {
		if len(m.candidates) == 0 {
			role := "control-plane node"
			if !m.controlPlane {
				role = "worker node"
			}
			m.v.get("status").get("addresses").errorf("%s %s has no InternalIP or ExternalIP address (ssh needs one; the node may not have registered yet)", role, m.name)
			continue
		}
		chosen := -1
		for i, a := range m.candidates {
			if len(others(m, a.ip)) == 0 {
				chosen = i
				break
			}
		}
		for i, a := range m.candidates {
			if o := others(m, a.ip); len(o) > 0 && (chosen < 0 || i < chosen) {
				a.v.warnf("%s of %s is also an address of %s", a.ip, m.name, strings.Join(o, ", "))
			}
		}
		if chosen < 0 {
			chosen = 0 // validate then refuses two hosts with one address
		}
		m.address = m.candidates[chosen]
		for i, a := range m.candidates {
			if i != chosen {
				a.shared = strings.Join(others(m, a.ip), ", ")
				m.also = append(m.also, a)
			}
		}
	}
}

// addressNote explains the chosen address in the inventory's comment.
func (n *node) addressNote() string {
	s := fmt.Sprintf("address: its %s (%s)", n.address.kind, n.address.family())
	if len(n.also) > 0 {
		var o []string
		for _, a := range n.also {
			s := fmt.Sprintf("%s %s", a.kind, a.ip)
			if a.shared != "" {
				s += " (also " + a.shared + "'s)"
			}
			o = append(o, s)
		}
		s += "; it also has " + strings.Join(o, ", ")
	}
	return s
}

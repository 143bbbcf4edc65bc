package inventory

import (
	"os"

	"gopkg.in/yaml.v3"
)

// ClusterName returns the cluster.name the inventory file at path sets, read without
// validating anything else (and without reading the backup), or "" when it cannot
// be read or is not a DNS-1123 label. It lets a caller name a kit's outputs before
// the full, slower Load.
func ClusterName(path string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	var doc struct {
		Cluster struct {
			Name string `yaml:"name"`
		} `yaml:"cluster"`
	}
	if yaml.Unmarshal(data, &doc) != nil || !isDNS1123Label(doc.Cluster.Name) {
		return ""
	}
	return doc.Cluster.Name
}

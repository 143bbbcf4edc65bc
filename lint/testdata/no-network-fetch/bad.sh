#!/usr/bin/env bash
set -euo pipefail
curl -fsSL https://example.com/etcd.tar.gz -o /tmp/etcd.tar.gz # want "curl downloads: the site is air-gapped"
sudo wget https://example.com/x # want "wget downloads"
crictl pull quay.io/openshift/etcd # want "crictl pull fetches over the network"
nc -z 10.0.0.1 2379 # want "nc opens network connections"
exec 3<>/dev/tcp/10.0.0.1/2379 # want "redirection to /dev/tcp/10.0.0.1/2379 opens a network connection"
dnf install -y jq # want "dnf installs packages"

// Command cairn-csi-driver serves the test cluster's hostPath CSI driver
// (package driver) on a unix socket and registers it with the kubelet.
package main

import (
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"syscall"

	"github.com/cairnbackup/cairn/hack/tools/csi/driver"
)

func main() {
	endpoint := flag.String("endpoint", "", "unix socket path to serve CSI on")
	name := flag.String("driver-name", "csi.cairn.local", "CSI driver name")
	nodeID := flag.String("node-id", "", "Kubernetes node name of this node")
	stateDir := flag.String("state-dir", "", "directory for volumes, snapshots and their records")
	regDir := flag.String("kubelet-registration-dir", "", "kubelet plugins_registry directory (empty: do not register)")
	flag.Parse()
	if *endpoint == "" {
		fmt.Fprintln(os.Stderr, "cairn-csi-driver: --endpoint is required (a unix socket path)")
		os.Exit(2)
	}
	d, err := driver.New(driver.Config{Name: *name, NodeID: *nodeID, StateDir: *stateDir,
		Logger: log.New(os.Stderr, "cairn-csi-driver: ", log.LstdFlags)})
	if err != nil {
		fmt.Fprintln(os.Stderr, "cairn-csi-driver:", err)
		os.Exit(2)
	}
	if err := d.Serve(*endpoint, *regDir); err != nil {
		fmt.Fprintln(os.Stderr, "cairn-csi-driver:", err)
		os.Exit(1)
	}
	log.Printf("cairn-csi-driver: serving %s on %s", *name, *endpoint)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	<-sig
	d.Stop()
}

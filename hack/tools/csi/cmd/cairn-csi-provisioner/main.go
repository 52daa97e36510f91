// Command cairn-csi-provisioner provisions PersistentVolumes for a CSI
// driver, including restores from VolumeSnapshots (package provisioner).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/cairnbackup/cairn/hack/tools/csi/provisioner"
	"github.com/container-storage-interface/spec/lib/go/csi"
	snapclient "github.com/kubernetes-csi/external-snapshotter/client/v8/clientset/versioned"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/sig-storage-lib-external-provisioner/v13/controller"
)

func main() {
	kubeconfig := flag.String("kubeconfig", "", "kubeconfig of the cluster")
	address := flag.String("csi-address", "", "unix socket of the CSI driver")
	flag.Parse()
	if err := run(*kubeconfig, *address); err != nil {
		fmt.Fprintln(os.Stderr, "cairn-csi-provisioner:", err)
		os.Exit(1)
	}
}

func run(kubeconfig, address string) error {
	if kubeconfig == "" || address == "" {
		return fmt.Errorf("--kubeconfig and --csi-address are both required")
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return fmt.Errorf("read kubeconfig %s: %w", kubeconfig, err)
	}
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	snap, err := snapclient.NewForConfig(cfg)
	if err != nil {
		return err
	}
	conn, err := grpc.NewClient("unix://"+address, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return fmt.Errorf("CSI socket %s: %w", address, err)
	}
	defer conn.Close()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	// The driver may start a moment after us: ask its name until it answers.
	var info *csi.GetPluginInfoResponse
	deadline := time.Now().Add(time.Minute)
	for {
		ictx, cancel := context.WithTimeout(ctx, 5*time.Second)
		info, err = csi.NewIdentityClient(conn).GetPluginInfo(ictx, &csi.GetPluginInfoRequest{})
		cancel()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("CSI driver at %s did not answer GetPluginInfo within a minute: %w", address, err)
		}
		time.Sleep(time.Second)
	}
	p := &provisioner.Provisioner{Driver: info.Name, CSI: csi.NewControllerClient(conn), Kube: kube, Snap: snap}
	fmt.Fprintf(os.Stderr, "cairn-csi-provisioner: provisioning for driver %s\n", info.Name)
	controller.NewProvisionController(ctx, kube, info.Name, p, controller.LeaderElection(false)).Run(ctx)
	return nil
}

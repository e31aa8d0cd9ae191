package demo

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/url"

	"github.com/vmware/govmomi"
	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/session"
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"

	_ "github.com/vmware/govmomi/vapi/simulator" // tagging endpoints for the fixer
)

// VCenter is an in-process vSphere simulator served over loopback HTTPS.
type VCenter struct {
	URL    string // https://127.0.0.1:PORT/sdk, without credentials
	CAFile string // the simulator's self-signed certificate
	User   string
	Pass   string

	model  *simulator.Model
	server *simulator.Server
	client *govmomi.Client
	finder *find.Finder
}

// StartVCenter builds a vCenter with clusters × hostsPerCluster hosts and
// vmsPerCluster VMs per cluster.
func StartVCenter(ctx context.Context, clusters, hostsPerCluster, vmsPerCluster int) (*VCenter, error) {
	m := simulator.VPX()
	m.Cluster, m.ClusterHost, m.Host, m.Machine = clusters, hostsPerCluster, 0, vmsPerCluster
	if err := m.Create(); err != nil {
		return nil, fmt.Errorf("vcenter simulator: %w", err)
	}
	v := &VCenter{User: "tana@vsphere.local", Pass: "demo-password", model: m}
	m.Service.TLS = new(tls.Config)
	m.Service.RegisterEndpoints = true
	m.Service.Listen = &url.URL{Host: "127.0.0.1:0", User: url.UserPassword(v.User, v.Pass)}
	v.server = m.Service.NewServer()
	ca, err := v.server.CertificateFile()
	if err != nil {
		v.Close()
		return nil, err
	}
	v.CAFile = ca
	u := *v.server.URL
	v.client, err = govmomi.NewClient(ctx, &u, true)
	if err != nil {
		v.Close()
		return nil, fmt.Errorf("vcenter simulator: admin login: %w", err)
	}
	u.User = nil
	v.URL = u.String()
	v.finder = find.NewFinder(v.client.Client, true)
	dc, err := v.finder.DefaultDatacenter(ctx)
	if err != nil {
		v.Close()
		return nil, err
	}
	v.finder.SetDatacenter(dc)
	return v, nil
}

// Connect logs in to a running lab vCenter (the demo's, from another
// process), to change it as someone in vCenter would.
func Connect(ctx context.Context, sdkURL, user, pass, caFile string) (*VCenter, error) {
	u, err := url.Parse(sdkURL)
	if err != nil {
		return nil, fmt.Errorf("vcenter url %q: %w", sdkURL, err)
	}
	u.User = url.UserPassword(user, pass)
	sc := soap.NewClient(u, false)
	if err := sc.SetRootCAs(caFile); err != nil {
		return nil, fmt.Errorf("vcenter CA %s: %w", caFile, err)
	}
	vc, err := vim25.NewClient(ctx, sc)
	if err != nil {
		return nil, fmt.Errorf("vcenter %s: %w", sdkURL, err)
	}
	c := &govmomi.Client{Client: vc, SessionManager: session.NewManager(vc)}
	if err := c.Login(ctx, u.User); err != nil {
		return nil, fmt.Errorf("vcenter login: %w", err)
	}
	v := &VCenter{URL: sdkURL, CAFile: caFile, User: user, Pass: pass, client: c, finder: find.NewFinder(vc, true)}
	dc, err := v.finder.DefaultDatacenter(ctx)
	if err != nil {
		v.Close()
		return nil, err
	}
	v.finder.SetDatacenter(dc)
	return v, nil
}

// Close logs out and stops the simulator, if this process runs it.
func (v *VCenter) Close() {
	if v.client != nil {
		_ = v.client.Logout(context.Background()) // the simulator forgets the session anyway
	}
	if v.server != nil {
		v.server.Close()
	}
	if v.model != nil {
		v.model.Remove()
	}
}

// VMs returns the simulator's VMs sorted by inventory path.
func (v *VCenter) VMs(ctx context.Context) ([]*object.VirtualMachine, error) {
	return v.finder.VirtualMachineList(ctx, "*")
}

// VM finds one VM by name.
func (v *VCenter) VM(ctx context.Context, name string) (*object.VirtualMachine, error) {
	return v.finder.VirtualMachine(ctx, name)
}

// wait runs a task-returning call and waits for the task.
func wait(ctx context.Context, start func() (*object.Task, error)) error {
	t, err := start()
	if err != nil {
		return err
	}
	return t.Wait(ctx)
}

// Setup names a VM and gives it a guest IP and host name, as VMware Tools
// would report them.
func (v *VCenter) Setup(ctx context.Context, vm *object.VirtualMachine, name, ip, hostname string) error {
	if err := wait(ctx, func() (*object.Task, error) { return vm.Rename(ctx, name) }); err != nil {
		return fmt.Errorf("rename %s: %w", name, err)
	}
	return wait(ctx, func() (*object.Task, error) { return vm.Reconfigure(ctx, guestSpec(ip, hostname)) })
}

// SetGuest changes what VMware Tools reports of a VM: its guest IP and
// host name.
func (v *VCenter) SetGuest(ctx context.Context, vm *object.VirtualMachine, ip, hostname string) error {
	return wait(ctx, func() (*object.Task, error) { return vm.Reconfigure(ctx, guestSpec(ip, hostname)) })
}

// guestSpec sets what VMware Tools would report (the simulator's
// SET.guest.* keys, as govc vm.change -e).
func guestSpec(ip, hostname string) types.VirtualMachineConfigSpec {
	return types.VirtualMachineConfigSpec{ExtraConfig: []types.BaseOptionValue{
		&types.OptionValue{Key: "SET.guest.ipAddress", Value: ip},
		&types.OptionValue{Key: "SET.guest.hostName", Value: hostname},
	}}
}

// SetCustom sets custom attributes (owner, role) on a VM, creating their
// definitions on first use.
func (v *VCenter) SetCustom(ctx context.Context, vm *object.VirtualMachine, values map[string]string) error {
	m, err := object.GetCustomFieldsManager(v.client.Client)
	if err != nil {
		return err
	}
	for name, value := range values {
		key, err := m.FindKey(ctx, name)
		if err != nil {
			def, aerr := m.Add(ctx, name, "VirtualMachine", nil, nil)
			if aerr != nil {
				return fmt.Errorf("custom attribute %s: %w", name, aerr)
			}
			key = def.Key
		}
		if err := m.Set(ctx, vm.Reference(), key, value); err != nil {
			return fmt.Errorf("set %s on %s: %w", name, vm.Name(), err)
		}
	}
	return nil
}

// Resize changes a VM's CPUs and memory, as someone in vCenter would.
func (v *VCenter) Resize(ctx context.Context, vm *object.VirtualMachine, cpus int32, memoryMB int64) error {
	return wait(ctx, func() (*object.Task, error) {
		return vm.Reconfigure(ctx, types.VirtualMachineConfigSpec{NumCPUs: cpus, MemoryMB: memoryMB})
	})
}

// Rename renames a VM.
func (v *VCenter) Rename(ctx context.Context, vm *object.VirtualMachine, name string) error {
	return wait(ctx, func() (*object.Task, error) { return vm.Rename(ctx, name) })
}

// CreateVM creates a powered-on VM in the first cluster with a guest IP.
func (v *VCenter) CreateVM(ctx context.Context, name, ip, hostname string) (*object.VirtualMachine, error) {
	dc, err := v.finder.DefaultDatacenter(ctx)
	if err != nil {
		return nil, err
	}
	folders, err := dc.Folders(ctx)
	if err != nil {
		return nil, err
	}
	pools, err := v.finder.ResourcePoolList(ctx, "*")
	if err != nil || len(pools) == 0 {
		return nil, fmt.Errorf("no resource pool: %v", err)
	}
	hosts, err := v.finder.HostSystemList(ctx, "*")
	if err != nil || len(hosts) == 0 {
		return nil, fmt.Errorf("no host: %v", err)
	}
	dss, err := v.finder.DatastoreList(ctx, "*")
	if err != nil || len(dss) == 0 {
		return nil, fmt.Errorf("no datastore: %v", err)
	}
	task, err := folders.VmFolder.CreateVM(ctx, types.VirtualMachineConfigSpec{
		Name: name, GuestId: string(types.VirtualMachineGuestOsIdentifierOtherGuest64), NumCPUs: 2, MemoryMB: 2048,
		Files: &types.VirtualMachineFileInfo{VmPathName: "[" + dss[0].Name() + "]"},
	}, pools[0], hosts[0])
	if err != nil {
		return nil, fmt.Errorf("create vm %s: %w", name, err)
	}
	info, err := task.WaitForResult(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("create vm %s: %w", name, err)
	}
	vm := object.NewVirtualMachine(v.client.Client, info.Result.(types.ManagedObjectReference))
	if err := wait(ctx, func() (*object.Task, error) { return vm.PowerOn(ctx) }); err != nil {
		return nil, fmt.Errorf("power on %s: %w", name, err)
	}
	return vm, wait(ctx, func() (*object.Task, error) { return vm.Reconfigure(ctx, guestSpec(ip, hostname)) })
}

// Destroy powers a VM off and deletes it, as someone in vCenter would.
func (v *VCenter) Destroy(ctx context.Context, vm *object.VirtualMachine) error {
	if err := wait(ctx, func() (*object.Task, error) { return vm.PowerOff(ctx) }); err != nil {
		return fmt.Errorf("power off %s: %w", vm.Name(), err)
	}
	return wait(ctx, func() (*object.Task, error) { return vm.Destroy(ctx) })
}

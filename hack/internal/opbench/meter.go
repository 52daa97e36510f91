package opbench

import (
	"context"

	"k8s.io/client-go/kubernetes"
)

// Meter sums the operator's request counters over a run in which its pod
// may be replaced (a redeploy on a shared cluster): a new pod's counters
// start at zero, so what the old pod counted up to its last scrape is kept
// and the new pod's counts are added to it. Scrape often (every few
// seconds): what an old pod counted after its last scrape is lost.
type Meter struct {
	kube kubernetes.Interface
	op   *Operator
	// base and last are the current pod's first and latest scrapes;
	// done holds what earlier pods counted.
	base, last, done map[string]float64
	// Replaced counts the operator pods that were replaced during the run.
	Replaced int
}

// NewMeter starts counting from op's counters now.
func NewMeter(ctx context.Context, kube kubernetes.Interface, op *Operator) (*Meter, error) {
	cur, err := op.Requests(ctx)
	if err != nil {
		return nil, err
	}
	return &Meter{kube: kube, op: op, base: cur, last: cur, done: map[string]float64{}}, nil
}

// Scrape reads the counters of the operator pod that runs now.
func (m *Meter) Scrape(ctx context.Context) error {
	now, err := FindOperator(ctx, m.kube)
	if err != nil {
		return err
	}
	if now.Pod != m.op.Pod {
		for k, v := range m.last {
			m.done[k] += v - m.base[k]
		}
		m.op, m.base, m.Replaced = now, map[string]float64{}, m.Replaced+1
	}
	cur, err := m.op.Requests(ctx)
	if err != nil {
		return err
	}
	m.last = cur
	return nil
}

// Writes returns the write requests counted so far by "VERB resource", and
// the Lease writes apart (see DiffWrites).
func (m *Meter) Writes() (map[string]float64, float64) {
	after := map[string]float64{}
	for k, v := range m.done {
		after[k] += v
	}
	for k, v := range m.last {
		after[k] += v - m.base[k]
	}
	return DiffWrites(map[string]float64{}, after)
}

// Operator is the operator pod the meter reads now.
func (m *Meter) Operator() *Operator { return m.op }

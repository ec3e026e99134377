package alerts

import (
	"math"
	"sort"
)

// cpSet is the comparable posts' values at one checkpoint, sorted, with
// prefix sums so the interquartile mean and the percentile can be taken
// with one value (the judged post's own) left out, in O(log n).
type cpSet struct {
	vals    []float64 // ascending
	sums    []float64 // sums[i] = vals[0]+…+vals[i-1]
	members map[*post]bool
}

func newCPSet(vals []float64) cpSet {
	sort.Float64s(vals)
	sums := make([]float64, len(vals)+1)
	for i, v := range vals {
		sums[i+1] = sums[i] + v
	}
	return cpSet{vals: vals, sums: sums}
}

// exclude returns the index of one value equal to v (to leave out), or -1
// when has is false.
func (s *cpSet) exclude(v float64, has bool) int {
	if !has {
		return -1
	}
	i := sort.SearchFloat64s(s.vals, v)
	if i < len(s.vals) && s.vals[i] == v {
		return i
	}
	return -1
}

// n is the number of values with index skip left out (skip -1: none).
func (s *cpSet) n(skip int) int {
	if skip >= 0 {
		return len(s.vals) - 1
	}
	return len(s.vals)
}

// rangeSum is the sum of the reduced (skip left out) array's [lo, hi).
func (s *cpSet) rangeSum(lo, hi, skip int) float64 {
	if skip < 0 || hi <= skip {
		return s.sums[hi] - s.sums[lo]
	}
	if lo >= skip {
		return s.sums[hi+1] - s.sums[lo+1]
	}
	return s.sums[hi+1] - s.sums[lo] - s.vals[skip]
}

// iqm is the interquartile mean (the mean of the middle half) of the values
// with skip left out; for fewer than 4 values, the plain mean.
func (s *cpSet) iqm(skip int) float64 {
	n := s.n(skip)
	if n <= 0 {
		return math.NaN()
	}
	lo, hi := n/4, n-n/4
	return s.rangeSum(lo, hi, skip) / float64(hi-lo)
}

// percentile is v's mid-rank percentile (0..100) among the values with skip
// left out: the share below v plus half the share equal to it.
func (s *cpSet) percentile(v float64, skip int) float64 {
	n := s.n(skip)
	if n <= 0 {
		return math.NaN()
	}
	below := sort.SearchFloat64s(s.vals, v)                                     // values < v
	upto := sort.Search(len(s.vals), func(i int) bool { return s.vals[i] > v }) // values <= v
	if skip >= 0 {
		// The left-out value equals the judged post's own value, or is elsewhere.
		switch {
		case skip < below:
			below--
			upto--
		case skip < upto:
			upto--
		}
	}
	return (float64(below) + 0.5*float64(upto-below)) / float64(n) * 100
}

// quantile is the q-quantile (0..1, nearest rank) of the values with skip left out.
func (s *cpSet) quantile(q float64, skip int) float64 {
	n := s.n(skip)
	if n <= 0 {
		return math.NaN()
	}
	r := int(math.Ceil(q*float64(n))) - 1
	r = min(max(r, 0), n-1)
	if skip >= 0 && r >= skip {
		r++
	}
	return s.vals[r]
}

func median(vals []float64) float64 {
	if len(vals) == 0 {
		return math.NaN()
	}
	v := append([]float64(nil), vals...)
	sort.Float64s(v)
	n := len(v)
	if n%2 == 1 {
		return v[n/2]
	}
	return (v[n/2-1] + v[n/2]) / 2
}

// baseline is the comparable posts of one judgement, in the judged post's
// own units (raw for the own baseline, reach-normalised for the
// campaign's), and how to turn them back into counts.
type baseline struct {
	own bool
	// vals[i] is the comparables' counters at checkpoint i; gains[i] their
	// gains from checkpoint i-1 (publication for i = 0) to checkpoint i.
	vals, gains  []*cpSet
	vskip, gskip []int   // per checkpoint: the judged post's own value to leave out
	scale        float64 // multiply a normalised value by this to get counts (the reach factor)
	min          int     // fewest comparables for a checkpoint to count
}

func (b *baseline) knownV(i int) bool { return b.vals[i].n(b.vskip[i]) >= b.min }
func (b *baseline) knownG(i int) bool { return b.gains[i].n(b.gskip[i]) >= b.min }

// valueAt is the expected count at checkpoint i.
func (b *baseline) valueAt(i int) float64 { return b.vals[i].iqm(b.vskip[i]) * b.scale }

// gainAt is the expected gain into checkpoint i, in counts (never below 0).
func (b *baseline) gainAt(i int) float64 { return max(0, b.gains[i].iqm(b.gskip[i])*b.scale) }

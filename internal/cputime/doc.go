// Package cputime reads CPU time: this process's ([Self]), another
// process's ([Process]) and the whole machine's ([Machine]), for the
// models' reports (a run's CPU time, its local workers', and what other
// programs took from the run). Where a figure cannot be read it is 0.
package cputime

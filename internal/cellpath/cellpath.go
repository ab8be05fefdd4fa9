// Package cellpath names a notebook cell's source file the way Jupyter's
// debugger does: a prefix, a hash of the cell's text and a suffix. The
// kernel announces the prefix, suffix, hash method and seed in its
// debugInfo reply, and the frontend (JupyterLab) computes each cell's path
// itself from the text in the editor; the kernel writes the file on
// dumpCell, and the engine names the frames of a cell's code with the same
// path. So the three must hash alike, byte for byte.
//
// The hash is MurmurHash2 (32 bits) of the text's UTF-8 bytes, as
// ipykernel's compiler.murmur2_x86 and JupyterLab's debugger/src/hash.ts
// compute it; testdata/jupyterlab_murmur2.json holds values JupyterLab's
// own function computed.
package cellpath

import (
	"encoding/binary"
	"strconv"
)

// Method is the hash method's name in debugInfo (hashMethod); JupyterLab
// knows only this one.
const Method = "Murmur2"

// Seed is the hash seed atonce announces (hashSeed), ipykernel's.
const Seed uint32 = 0xC70F6907

// Suffix ends every cell's path (tmpFileSuffix).
const Suffix = ".go"

// DirMarker is part of the name of the directory that holds the cells'
// sources. JupyterLab's debugger shows a source whose path contains it as
// the notebook cell it is ("Cell [3]" in the Callstack and Breakpoints
// panels, "Cell [*]" while it runs) and any other path as it is: the
// marker is ipykernel's, the only one JupyterLab knows.
const DirMarker = "ipykernel_"

// Naming makes cells' paths. Its fields are what debugInfo announces.
type Naming struct {
	Prefix string `json:"prefix"` // tmpFilePrefix: a directory and its separator
	Suffix string `json:"suffix"` // tmpFileSuffix
	Seed   uint32 `json:"seed"`   // hashSeed
}

// Path returns the path of the cell whose text is code.
func (n Naming) Path(code string) string {
	return n.Prefix + strconv.FormatUint(uint64(Murmur2([]byte(code), n.Seed)), 10) + n.Suffix
}

// Murmur2 is Austin Appleby's MurmurHash2, 32-bit, little-endian blocks.
func Murmur2(data []byte, seed uint32) uint32 {
	const m = 0x5bd1e995
	h := seed ^ uint32(len(data))
	for len(data) >= 4 {
		k := binary.LittleEndian.Uint32(data)
		k *= m
		k ^= k >> 24
		k *= m
		h = h*m ^ k
		data = data[4:]
	}
	switch len(data) {
	case 3:
		h ^= uint32(data[2]) << 16
		fallthrough
	case 2:
		h ^= uint32(data[1]) << 8
		fallthrough
	case 1:
		h ^= uint32(data[0])
		h *= m
	}
	h ^= h >> 13
	h *= m
	h ^= h >> 15
	return h
}

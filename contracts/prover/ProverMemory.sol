// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {ProverCold} from "./ProverCold.sol";

/// @title One step of a memory instruction: loads, stores, memory.size, memory.grow, memory.copy,
/// memory.fill (docs/STATE.md §3, §4.1), on a pre-state checked by ProverCold._parseCold.
abstract contract ProverMemory is ProverCold {
    /// Executes the memory instruction `op` and returns the post root.
    function _stepMemory(uint256 op) internal pure {
        uint256 pc = _pc();
        uint256 depth = _depth();
        if (op < 0x36) {
            _load(op);
            _finish(pc + 1, 1, depth, 0);
        } else if (op < 0x3f) {
            _store(op);
            _finish(pc + 1, 0, depth, 0);
        } else if (op == 0x3f) {
            // memory.size
            assembly ("memory-safe") {
                mstore(R_OUT, and(shr(32, mload(MEMINFO)), M32))
            }
            _finish(pc + 1, 1, depth, 0);
        } else if (op == 0x40) {
            _grow();
            _finish(pc + 1, 1, depth, 0);
        } else {
            // memory.copy 0xed, memory.fill 0xee
            if (_count() != 0) _bulk(op);
            _resumeOrFinish();
        }
    }

    /// Loads: `size` little-endian bytes at ea from the leaves (ea = u32(addr) + offset).
    function _load(uint256 op) internal pure {
        _leavesToLB();
        assembly ("memory-safe") {
            let nib := shr(shl(2, sub(op, 0x28)), MEMOPS)
            let size := shl(and(nib, 3), 1)
            let vals := mload(R_VALS)
            let ea := add(and(shr(192, calldataload(vals)), M32), mload(R_A))
            // the 8 bytes at ea in address order, reversed into a little-endian u64
            let x := shr(192, mload(add(LB, and(ea, 31))))
            x := or(shr(8, and(x, 0xff00ff00ff00ff00)), shl(8, and(x, 0x00ff00ff00ff00ff)))
            x := or(shr(16, and(x, 0xffff0000ffff0000)), shl(16, and(x, 0x0000ffff0000ffff)))
            x := and(or(shr(32, x), shl(32, x)), M64)
            x := and(x, sub(shl(shl(3, size), 1), 1))
            if and(nib, 4) { x := signextend(sub(size, 1), x) }
            switch and(nib, 8)
            case 0 { x := and(x, M32) }
            default { x := and(x, M64) }
            mstore(R_OUT, x)
        }
    }

    /// Stores: the low `size` bytes of the value, little-endian, at ea.
    function _store(uint256 op) internal pure {
        _leavesToLB();
        assembly ("memory-safe") {
            let size := shl(and(shr(shl(2, sub(op, 0x28)), MEMOPS), 3), 1)
            let vals := mload(R_VALS)
            let ea := add(and(shr(192, calldataload(vals)), M32), mload(R_A))
            let x := shr(192, calldataload(add(vals, 8)))
            x := or(shr(8, and(x, 0xff00ff00ff00ff00)), shl(8, and(x, 0x00ff00ff00ff00ff)))
            x := or(shr(16, and(x, 0xffff0000ffff0000)), shl(16, and(x, 0x0000ffff0000ffff)))
            x := and(or(shr(32, x), shl(32, x)), M64)
            let m := not(shr(shl(3, size), not(0)))
            let at := add(LB, and(ea, 31))
            mstore(at, or(and(mload(at), not(m)), and(shl(192, x), m)))
        }
        bytes32 root = _memRootFromLB();
        assembly ("memory-safe") {
            mstore(MEMROOT, root)
        }
        _rehashCold();
    }

    /// memory.grow(delta): -1 past the ceiling, else the old size; re-roots without touching memory.
    function _grow() internal pure {
        uint256 pages;
        uint256 delta;
        uint256 ceiling;
        assembly ("memory-safe") {
            pages := and(shr(32, mload(MEMINFO)), M32)
            delta := and(shr(192, calldataload(mload(R_VALS))), M32)
            ceiling := and(shr(64, mload(LIMITS)), M32)
        }
        if (delta + pages > ceiling) {
            assembly ("memory-safe") {
                mstore(R_OUT, M32)
            }
            return;
        }
        uint256 pages1 = pages + delta;
        uint256 from = pages == 0 ? 0 : 11 + _depthFor(pages);
        uint256 to = pages1 == 0 ? 0 : 11 + _depthFor(pages1);
        bytes32 r;
        assembly ("memory-safe") {
            mstore(R_OUT, pages)
            r := mload(MEMROOT)
        }
        for (uint256 h = from; h < to; h++) r = _node(r, _zero(h));
        assembly ("memory-safe") {
            mstore(MEMROOT, r)
            let mi := mload(MEMINFO)
            mstore(MEMINFO, or(and(mi, not(shl(32, M32))), shl(32, and(pages1, M32))))
        }
        _rehashCold();
    }

    /// One chunk of memory.copy [dst, src, n] or memory.fill [dst, value, n] (n > 0).
    function _bulk(uint256 op) internal pure {
        _leavesToLB();
        assembly ("memory-safe") {
            let vals := mload(R_VALS)
            let dst := and(shr(192, calldataload(vals)), M32)
            let v1 := shr(192, calldataload(add(vals, 8)))
            let n := and(shr(192, calldataload(add(vals, 16))), M32)
            let c := mload(R_CHUNK)
            let p := mload(R_MEMP)
            let src
            let srcAt
            switch op
            case 0xee {
                // the value's low byte, 32 times
                src := mul(and(v1, 0xff), 0x0101010101010101010101010101010101010101010101010101010101010101)
            }
            default {
                let s := and(v1, M32)
                srcAt := s
                if gt(dst, s) {
                    srcAt := sub(add(s, n), c)
                    dst := sub(add(dst, n), c)
                }
                // the source bytes from the leaves as they were before the step
                src := mload(add(LB, shl(5, iszero(eq(shr(5, srcAt), p)))))
            }
            let m := not(shr(shl(3, c), not(0)))
            let seg := and(shl(shl(3, and(srcAt, 31)), src), m)
            let at := add(LB, shl(5, iszero(eq(shr(5, dst), p))))
            let dOff := shl(3, and(dst, 31))
            let mm := shr(dOff, m)
            mstore(at, or(and(mload(at), not(mm)), shr(dOff, seg)))
        }
        bytes32 root = _memRootFromLB();
        assembly ("memory-safe") {
            mstore(MEMROOT, root)
        }
        _rehashCold();
    }
}

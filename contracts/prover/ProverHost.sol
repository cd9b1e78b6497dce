// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {ProverCold} from "./ProverCold.sol";

/// @title One step of a global access, a call, a return or a host operation (input size, input
/// read, output write) (docs/STATE.md §3, §4.1), on a pre-state checked by ProverCold._parseCold.
abstract contract ProverHost is ProverCold {
    /// Executes the instruction `op` and returns the post root.
    function _stepHost(uint256 op) internal pure {
        uint256 pc = _pc();
        uint256 depth = _depth();
        if (op == 0x23) {
            // global.get
            assembly ("memory-safe") {
                let leaf := calldataload(sub(mload(R_XPROOF), 32))
                mstore(R_OUT, shr(192, shl(shl(6, and(mload(R_A), 3)), leaf)))
            }
            _finish(pc + 1, 1, depth, 0);
        } else if (op == 0x24) {
            _globalSet();
            _finish(pc + 1, 0, depth, 0);
        } else if (op == 0xe5 || op == 0xe6) {
            _call(op, pc, depth);
        } else if (op == 0xe7) {
            // return: pop the frame
            uint256 returnPc;
            assembly ("memory-safe") {
                let at := mload(R_FRAMEAT)
                mstore(FRAMES, calldataload(at))
                mstore(LOCALS, calldataload(add(at, 32)))
                returnPc := shr(224, calldataload(add(at, 64)))
            }
            _rehashCold();
            _finish(returnPc, 0, depth - 1, 0);
        } else if (op == 0xea) {
            // input size
            assembly ("memory-safe") {
                mstore(R_OUT, and(mload(LIMITS), M32))
            }
            _finish(pc + 1, 1, depth, 0);
        } else if (op == 0xeb) {
            if (_count() != 0) _inputChunk();
            _resumeOrFinish();
        } else {
            // 0xec output write
            if (_count() != 0) _outputChunk();
            _resumeOrFinish();
        }
    }

    function _globalSet() internal pure {
        uint256 a;
        assembly ("memory-safe") {
            a := mload(R_A)
        }
        (bytes32 root, ) = _setValue(a);
        assembly ("memory-safe") {
            mstore(GLOBALS, root)
        }
        _rehashAuxCold();
    }

    /// Call (a = entry, b = numLocals, c = max height) and CallIndirect (from the table element).
    function _call(uint256 op, uint256 pc_, uint256 depth) internal pure {
        uint256 entry;
        uint256 nLocals;
        uint256 spAfter;
        uint256 trap;
        assembly ("memory-safe") {
            let regs := mload(REGS)
            spAfter := and(shr(96, regs), M32)
            entry := mload(R_A)
            nLocals := mload(R_B)
            let maxHeight := mload(R_C)
            let checks := 1
            if eq(op, 0xe6) {
                let t := calldataload(mload(add(EA, E_LEAF)))
                // element: the function's invoke stub leaf [Call entry numLocals maxHeight][Halt typeId f+1 0]
                // (a = the expected type id)
                switch byte(16, t)
                case 0 {
                    trap := T_UNINIT
                    checks := 0
                }
                case 0xe8 {
                    switch eq(and(shr(64, t), M32), entry)
                    case 0 {
                        trap := T_TYPE
                        checks := 0
                    }
                    default {
                        entry := and(shr(192, t), M32)
                        nLocals := and(shr(160, t), M32)
                        maxHeight := and(shr(128, t), M32)
                        spAfter := sub(spAfter, 1)
                    }
                }
                default {
                    mstore(0, shl(224, ERR_UNPROVABLE))
                    revert(0, 4)
                }
            }
            if checks {
                let limits := mload(LIMITS)
                switch iszero(lt(depth, and(shr(96, limits), M32)))
                case 1 { trap := T_CALLSTACK }
                default {
                    if gt(add(spAfter, maxHeight), and(shr(128, limits), M32)) { trap := T_VALUESTACK }
                }
            }
        }
        if (trap != 0) _trapped(trap);
        bytes32 fresh = _zero(_valuesDepth(nLocals));
        assembly ("memory-safe") {
            // push the caller's frame: H(0x03 ‖ below ‖ callerLocalsRoot ‖ returnPc u32)
            mstore8(SCR, 3)
            mstore(add(SCR, 1), mload(FRAMES))
            mstore(add(SCR, 33), mload(LOCALS))
            mstore(add(SCR, 65), shl(224, and(add(pc_, 1), M32)))
            mstore(FRAMES, keccak256(SCR, 69))
            mstore(LOCALS, fresh)
        }
        _rehashCold();
        _finish(entry, 0, depth + 1, 0);
    }

    /// One chunk of input_read [dst, off, n]: input leaf -> memory leaf.
    function _inputChunk() internal pure {
        bytes32 leaf;
        assembly ("memory-safe") {
            let vals := mload(R_VALS)
            let dst := and(shr(192, calldataload(vals)), M32)
            let off := and(shr(192, calldataload(add(vals, 8))), M32)
            let c := mload(R_CHUNK)
            let m := not(shr(shl(3, c), not(0)))
            let seg := and(shl(shl(3, and(off, 31)), calldataload(mload(R_ILEAF))), m)
            let dOff := shl(3, and(dst, 31))
            leaf := or(and(calldataload(mload(R_MLEAF)), not(shr(dOff, m))), shr(dOff, seg))
        }
        bytes32 root = _climbMem(leaf);
        assembly ("memory-safe") {
            mstore(MEMROOT, root)
        }
        _rehashCold();
    }

    /// One chunk of output_write [src, n]: memory leaf -> output leaf at outLen.
    function _outputChunk() internal pure {
        bytes32 leaf;
        uint256 outLen;
        uint256 at;
        uint256 d;
        assembly ("memory-safe") {
            let vals := mload(R_VALS)
            let src := and(shr(192, calldataload(vals)), M32)
            let c := mload(R_CHUNK)
            let mi := mload(MEMINFO)
            outLen := and(mi, M32)
            at := mload(R_OPROOF)
            d := mload(R_ODEPTH)
            let m := not(shr(shl(3, c), not(0)))
            let seg := and(shl(shl(3, and(src, 31)), calldataload(mload(R_MLEAF))), m)
            let dOff := shl(3, and(outLen, 31))
            leaf := or(and(calldataload(sub(at, 32)), not(shr(dOff, m))), shr(dOff, seg))
            mstore(MEMINFO, or(and(mi, not(M32)), and(add(outLen, c), M32)))
        }
        bytes32 root = _climb(leaf, outLen >> 5, at, d);
        assembly ("memory-safe") {
            mstore(OUTPUT, root)
        }
        _rehashAuxCold();
    }

    function _climbMem(bytes32 leaf) internal pure returns (bytes32) {
        uint256 p;
        uint256 at;
        uint256 d;
        assembly ("memory-safe") {
            p := mload(R_MEMP)
            at := mload(R_MPROOF)
            d := mload(R_MEMD)
        }
        return _climb(leaf, p, at, d);
    }
}

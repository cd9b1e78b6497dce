// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {IStepProver} from "../prover/IStepProver.sol";
import {Merkle} from "../state/Merkle.sol";
import {TaskState} from "../state/TaskState.sol";

/// TEST ONLY. A toy one-step prover over the real state layout (docs/STATE.md §2), so that the
/// market's initial state root and final-state openings are the real ones while the machine is a
/// counter whose state at any step is computable in O(1) (games over 2^32 steps in tests and
/// benchmarks). The witness is the 348-byte opening of the pre-state (TaskState.open). A step:
///   - terminal state (status != 0): unchanged;
///   - steps >= stepLimit: trapped (StepLimit, 10), steps + 1;
///   - otherwise steps + 1, stackHash = keccak256(uint256 steps); when steps reaches the toy
///     program's length, the low 64 bits of codeRoot, the machine halts with the 32-byte output
///     stackHash (or traps OutputLimit, 13, when outputLimit < 32).
/// test/contracts/toy.ts is the same machine in TypeScript.
contract ToyProver is IStepProver {
    error RootMismatch();

    function step(bytes32 preRoot, bytes calldata witness) external pure returns (bytes32) {
        TaskState.Final memory f = TaskState.open(witness);
        if (f.root != preRoot) revert RootMismatch();
        if (f.status != 0) return preRoot;
        bytes memory o = witness;
        uint256 regs = uint256(bytes32(witness[0:32]));
        uint256 steps = f.steps + 1;
        // clear steps (bytes 4..9, u48), status (28), trap (29)
        regs &= ~((uint256(0xffffffffffff) << 176) | (uint256(0xffff) << 16));
        regs |= steps << 176;
        if (f.steps >= f.stepLimit) {
            regs |= (uint256(2) << 24) | (uint256(10) << 16);
        } else {
            bytes32 stackHash = keccak256(abi.encode(steps));
            _put(o, 32, stackHash);
            uint256 codeRoot = uint256(bytes32(witness[96:128]));
            if (steps == uint64(codeRoot)) {
                if (f.outputLimit < 32) {
                    regs |= (uint256(2) << 24) | (uint256(13) << 16);
                } else {
                    regs |= uint256(1) << 24;
                    // memInfo.outLen (bytes 132..135) = 32; outputRoot = tree of the one leaf
                    uint256 memInfoWord = uint256(_get(o, 128));
                    memInfoWord = (memInfoWord & ~(uint256(0xffffffff) << 192)) | (uint256(32) << 192);
                    _put(o, 128, bytes32(memInfoWord));
                    bytes32 root = stackHash;
                    uint256 depth = TaskState.outputDepth(f.outputLimit);
                    for (uint256 h = 0; h < depth; h++) root = Merkle.node(root, Merkle.zero(h));
                    _put(o, 316, root);
                }
            }
        }
        _put(o, 0, bytes32(regs));
        return _root(o);
    }

    function _get(bytes memory o, uint256 at) private pure returns (bytes32 v) {
        assembly ("memory-safe") {
            v := mload(add(add(o, 32), at))
        }
    }

    function _put(bytes memory o, uint256 at, bytes32 v) private pure {
        assembly ("memory-safe") {
            mstore(add(add(o, 32), at), v)
        }
    }

    function _root(bytes memory o) private pure returns (bytes32 root) {
        assembly ("memory-safe") {
            let d := add(o, 32)
            let p := mload(0x40)
            mstore8(p, 0x12)
            mcopy(add(p, 1), add(d, 200), 148)
            let aux := keccak256(p, 149)
            mstore8(p, 0x11)
            mcopy(add(p, 1), add(d, 128), 72)
            mstore(add(p, 73), aux)
            let cold := keccak256(p, 105)
            mstore8(p, 0x10)
            mcopy(add(p, 1), d, 128)
            mstore(add(p, 129), cold)
            root := keccak256(p, 161)
        }
    }
}

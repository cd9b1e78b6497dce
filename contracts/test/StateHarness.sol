// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {Merkle} from "../state/Merkle.sol";
import {TaskState} from "../state/TaskState.sol";

/// TEST ONLY: exposes the Merkle and TaskState libraries to the tests.
contract StateHarness {
    function zero(uint256 h) external pure returns (bytes32) {
        return Merkle.zero(h);
    }

    function node(bytes32 l, bytes32 r) external pure returns (bytes32) {
        return Merkle.node(l, r);
    }

    function depthOf(uint256 n) external pure returns (uint256) {
        return Merkle.depthOf(n);
    }

    function bytesRoot(bytes calldata data, uint256 depth) external pure returns (bytes32) {
        return Merkle.bytesRoot(data, depth);
    }

    function inputRoot(bytes calldata input) external pure returns (bytes32) {
        return TaskState.inputRoot(input);
    }

    function programRoot(TaskState.Descriptor calldata d) external pure returns (bytes32) {
        return TaskState.programRoot(TaskState.descriptorBytes(d));
    }

    function initialStateRoot(TaskState.Descriptor calldata d, bytes calldata input, TaskState.Limits calldata l) external pure returns (bytes32) {
        return TaskState.initialStateRoot(TaskState.descriptorBytes(d), TaskState.inputRoot(input), input.length, l);
    }

    function open(bytes calldata opening) external pure returns (TaskState.Final memory) {
        return TaskState.open(opening);
    }

    /// Gas of the input root of `input` (for the benchmark of the level-by-level hashing).
    function inputRootGas(bytes calldata input) external view returns (bytes32 root, uint256 gasUsed) {
        uint256 g = gasleft();
        root = TaskState.inputRoot(input);
        gasUsed = g - gasleft();
    }
}

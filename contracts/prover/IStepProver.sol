// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

/// The one-step prover: the post-state root of one machine step from the pre-state root and the
/// step's witness (docs/STATE.md, "The witness"). Reverts on any witness that does not open preRoot.
interface IStepProver {
    function step(bytes32 preRoot, bytes calldata witness) external view returns (bytes32 postRoot);
}

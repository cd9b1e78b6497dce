// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

/// Implemented by a dapp that posts tasks: the market calls it when a task ends.
/// `status`: 1 halted (output = the task's output, `code` its exit code), 2 trapped (output empty,
/// `code` the trap code), 0 expired without a valid solution (output empty, code 0; the reward is
/// refunded to the poster's withdrawable balance). The call gets TaskMarket.callbackGas gas; if it
/// reverts or runs out of gas the task ends all the same. It cannot re-enter the market (every
/// state-changing market function reverts with Reentrancy while a call-out is in progress).
interface ITaskCallback {
    function onTaskResult(uint256 taskId, bytes calldata output, uint8 status, uint32 code) external;
}

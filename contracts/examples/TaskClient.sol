// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {ITaskMarket} from "../market/ITaskMarket.sol";
import {ITaskCallback} from "../market/ITaskCallback.sol";
import {TaskState} from "../state/TaskState.sol";

/// A base for contracts that post tasks (docs/DAPPS.md): posting with a reward, inputs too large for
/// one transaction uploaded in chunks, the market's callback checked and routed to `_onTaskResult`,
/// refunds of expired tasks withdrawn. Not test-only: derive from it (contracts/examples/WordCount.sol).
///
/// The callback runs with the market's `callbackGas` (500,000 by default) and cannot call the market
/// back (its functions revert Reentrancy during the call): store the result, emit an event, and do
/// follow-up work (another task, a withdrawal) in a later transaction. A callback that reverts or
/// runs out of gas is lost (the market emits CallbackFailed), so keep it small and unconditional.
abstract contract TaskClient is ITaskCallback {
    ITaskMarket public immutable market;

    error NotMarket();

    constructor(ITaskMarket market_) {
        market = market_;
    }

    /// The market's call when a task this contract posted ends: status 1 halted (`output`, exit
    /// `code`), 2 trapped (no output; `code`: trap code), 0 expired without a solution (no output;
    /// the reward is in this contract's market balance: `_withdrawRefunds`).
    function onTaskResult(uint256 taskId, bytes calldata output, uint8 status, uint32 code) external {
        if (msg.sender != address(market)) revert NotMarket();
        _onTaskResult(taskId, output, status, code);
    }

    function _onTaskResult(uint256 taskId, bytes calldata output, uint8 status, uint32 code) internal virtual;

    /// Posts a task with its input in this call; `reward` wei (from this contract's balance).
    function _post(bytes32 programRoot, bytes memory input, TaskState.Limits memory limits, ITaskMarket.Terms memory terms, uint256 reward) internal returns (uint256) {
        return market.post{value: reward}(programRoot, input, limits, terms.window, terms.solverBond, terms.challengerBond, terms.deadline);
    }

    /// Appends a chunk to this contract's upload `inputId` (0: a new one); returns the upload's id.
    /// Every chunk but the last: a multiple of 32 bytes. Each call's transaction stays under the
    /// per-transaction gas cap (2^24) with chunks up to ~400 KB (docs/DAPPS.md § Large inputs).
    function _appendInput(uint256 inputId, bytes memory chunk) internal returns (uint256) {
        return market.inputs().appendInput(inputId, chunk);
    }

    /// Posts a task on this contract's upload `inputId` (sealing it).
    function _postInput(uint256 inputId, bytes32 programRoot, TaskState.Limits memory limits, ITaskMarket.Terms memory terms, uint256 reward) internal returns (uint256) {
        return market.postInput{value: reward}(inputId, programRoot, limits, terms.window, terms.solverBond, terms.challengerBond, terms.deadline);
    }

    /// Takes this contract's market balance (rewards of expired tasks) into its own balance.
    function _withdrawRefunds() internal {
        if (market.balanceOf(address(this)) != 0) market.withdraw();
    }

    /// Refunds arrive from the market's withdraw.
    receive() external payable virtual {}
}

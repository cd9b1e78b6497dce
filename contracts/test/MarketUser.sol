// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {ITaskCallback} from "../market/ITaskCallback.sol";
import {ITaskMarket} from "../market/ITaskMarket.sol";
import {TaskState} from "../state/TaskState.sol";

/// TEST ONLY: a contract that posts tasks, receives results and withdraws, with misbehaviours
/// selectable by the tests (reverting or gas-burning callbacks, re-entrant callbacks and receives,
/// refusing ETH).
contract MarketUser is ITaskCallback {
    enum Mode {
        Record, // store the result
        Revert, // revert in the callback
        BurnGas, // loop until out of gas
        Reenter, // call back into the market and record the revert selector
        GasOnly // record the gas it was given and count the result, nothing else
    }

    ITaskMarket public immutable market;
    Mode public callbackMode;
    /// receive(): 0 accept, 1 refuse, 2 re-enter withdraw (recording the revert selector) and accept
    uint8 public receiveMode;

    uint256 public results;
    uint256 public lastTaskId;
    bytes public lastOutput;
    uint8 public lastStatus;
    uint32 public lastCode;
    uint256 public lastGas;
    bytes4 public reentryError;

    constructor(ITaskMarket market_) {
        market = market_;
    }

    function setModes(Mode callbackMode_, uint8 receiveMode_) external {
        callbackMode = callbackMode_;
        receiveMode = receiveMode_;
    }

    function post(
        bytes32 programRoot,
        bytes calldata input,
        TaskState.Limits calldata limits,
        uint24 window,
        uint88 solverBond,
        uint88 challengerBond,
        uint40 deadline
    ) external payable returns (uint256) {
        return market.post{value: msg.value}(programRoot, input, limits, window, solverBond, challengerBond, deadline);
    }

    function withdraw() external {
        market.withdraw();
    }

    function onTaskResult(uint256 taskId, bytes calldata output, uint8 status, uint32 code) external {
        require(msg.sender == address(market), "not the market");
        lastGas = gasleft();
        if (callbackMode == Mode.GasOnly) {
            results++;
            return;
        }
        if (callbackMode == Mode.Revert) revert("callback refuses");
        if (callbackMode == Mode.BurnGas) {
            uint256 x;
            while (true) x++;
        }
        if (callbackMode == Mode.Reenter) {
            try market.withdraw() {} catch (bytes memory err) {
                reentryError = bytes4(err);
            }
        }
        results++;
        lastTaskId = taskId;
        lastOutput = output;
        lastStatus = status;
        lastCode = code;
    }

    receive() external payable {
        if (receiveMode == 1) revert("no thanks");
        if (receiveMode == 2) {
            try market.withdraw() {} catch (bytes memory err) {
                reentryError = bytes4(err);
            }
        }
    }
}

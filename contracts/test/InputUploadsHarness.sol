// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {InputUploads} from "../market/InputUploads.sol";

/// TEST ONLY: InputUploads with its seal exposed (TaskMarket.postInput seals when it posts).
contract InputUploadsHarness is InputUploads {
    function seal(uint256 inputId) external returns (bytes32 root, uint256 length) {
        return _useInput(inputId, 0);
    }
}

// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {InputTree} from "../market/InputTree.sol";

/// TEST ONLY: exposes the InputTree library (several trees, by id) to test/dapp/input-tree.test.ts.
contract InputTreeHarness {
    mapping(uint256 => InputTree.Frontier) private trees;
    mapping(uint256 => uint256) public lengthOf;

    function append(uint256 id, bytes calldata chunk) external {
        lengthOf[id] = InputTree.append(trees[id], lengthOf[id], chunk);
    }

    function root(uint256 id) external view returns (bytes32) {
        return InputTree.root(trees[id], lengthOf[id]);
    }
}

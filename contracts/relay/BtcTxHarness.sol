// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {BtcTx} from "./BtcTx.sol";

/// Test harness: BtcTx's functions as external calls (test/relay/swap.test.ts), and a relayTx
/// target that does nothing (bench/btc.ts: the relay's share of a purchase).
contract BtcTxHarness {
    function processTransaction(bytes calldata, bytes32, uint256) external {}

    function parse(bytes calldata raw) external view returns (bytes32 txid, uint64[] memory values, bytes[] memory scripts) {
        (uint256 p, uint256 n) = BtcTx.outputs(raw);
        values = new uint64[](n);
        scripts = new bytes[](n);
        for (uint256 i = 0; i < n; i++) {
            bytes calldata script;
            (values[i], script, p) = BtcTx.outputAt(raw, p);
            scripts[i] = script;
        }
        txid = BtcTx.txid(raw);
    }
}

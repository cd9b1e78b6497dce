// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

/// Fixed-depth binary Merkle trees of docs/STATE.md §1: leaves are raw 32-byte words, an internal
/// node is keccak256(0x01 ‖ left ‖ right), zero subtrees Z[0] = 0, Z[h+1] = node(Z[h], Z[h]).
library Merkle {
    /// More leaves than a tree of the requested depth holds, or a depth above 32.
    error TreeTooSmall(uint256 leaves, uint256 depth);

    /// Z[0..32], 32 bytes each (generated from interpreter/state.ts; test/contracts/state.test.ts checks them).
    bytes internal constant ZEROS =
        hex"0000000000000000000000000000000000000000000000000000000000000000c07a1e8b7e0057673fdc2affe190d8a960c5fe615663f27b7ce84f3d93ef92a6fd47517474a597637d54038a0663d1d03b931b238de06b73e3c12cf443de6e8d47a8f5e8fa70be2760378067c9c6d410dd96be07820b4230c11254c7ff10c298aed19ca4bfe2365b1b33fa94744cd0c6a2d550506c7e7efc073879cb79459b9a6e6998a7da8b2db5c98eb853099d8caec63797b5283b7dac37b2ffb630a86e24181c19735bff23b55bc295fc0b60c1c5c7288209b261a08e26924598ce72404eecb408b290ab2920e63611ef1e8ca964aebb66ea5739f19d24b92094f28e44f8294bf9785e1391d24d52abf915636a73bdaa12ed29e85e21dae14c09d0f2e34bcf7e37a934683edec795e3529db8fac0863519c2419ba24c0f6e4efa86ec7d1a72ce48cca9bc743fed84a0bdc00ad2c5b540323849c982f671a9bd8d52d157190e2d7d0b695fdcd9dc6c54313ae652218375c3358d34ade3dcc49dda05c0db10a0a786a71d24007a23f5ce21e6997a305baeefaf348937a8b74974cb039c10c80628cb6496193e6a55ece4a8240384e142273eeb9cc4bdae680f971fd1929f102c3b833a3ca9d6f02055871655dd18f003a279f84a334bf6050899a9bc1cedc31a6c5e9fd899efca64c2aca6243434b423d791f92a839c0c92ce0a5a51a07234a9942b0fabdf9bf32241f8245eb26737ffbd91822ac484ae857fc35d21fb652f7e4206a110a8721cc68455c35400b056251398dfcf98b04aeee19549bfd2122fbfb429bfebb3aa270012d8063896d205bfd8ce116e4a304335bd59e9471f9fcce22fa8fff28cfb1f3664382ced6d3f1d634ef2851c10b1dce18c57c957985bf9d29bf231e30afb5cd1bc01d214e905c60c87533bf967a94877b3843bb0bdef5d146d57f70bcb580465116619359a35ece364f17e8d56524b5eee8bf6b8ebfdf6cdbc0759e847f96beb000c3cc51e30f8b2ccac5dcc5c409fea938a3345f8b60386e4b0792326c35995f1563b0d8f99fc38b0348a356e149c04b2783d5bd4cfb845965170d4d5afdbc7dd54ef3beb044e3a61bdc1a96a4d31beaaee6b75a3f063b4603e46f0de988e62ff27b69f4d393a18f5ed31ea265fee69e73dc4eeddc902b394b29ffe4175348b892c892e0eee5e565c83ebbe247de17cd9bf999d75d2b7ad44e31db4754e01afbb20b8aceb34ce5ef195a9701a7115326091c4fedb5a440bf2ca8aa236c35d3e7bd0ba97c8e772194462c90b5bb6caea4774e4100e95efde0aa4f414066517b910862d802e616c418bf24150940c3b74b46e6a4e84b15a5368cf00e43190f04a959a2bfd87d648b02bb4494a00b755c1198da350e04cdb223c1c9f16dfa65bdc98bd2ff419b6f1c47596c3f1eed71c5a3d3c2a3c33f99b7c1d0e8a93ea9c09cc13b91ead8f72de66a33cb695c30934dc2d75bffac1248e";

    /// Z[h], the root of a zero subtree of height h (h <= 32).
    function zero(uint256 h) internal pure returns (bytes32 z) {
        if (h > 32) revert TreeTooSmall(0, h);
        bytes memory t = ZEROS;
        assembly ("memory-safe") {
            z := mload(add(add(t, 32), shl(5, h)))
        }
    }

    /// keccak256(0x01 ‖ l ‖ r), hashed in the free memory past the free memory pointer.
    function node(bytes32 l, bytes32 r) internal pure returns (bytes32 x) {
        assembly ("memory-safe") {
            let p := mload(0x40)
            mstore8(p, 1)
            mstore(add(p, 1), l)
            mstore(add(p, 33), r)
            x := keccak256(p, 65)
        }
    }

    /// depthOf(n) = 0 if n <= 1 else ceil(log2 n).
    function depthOf(uint256 n) internal pure returns (uint256 d) {
        if (n <= 1) return 0;
        n -= 1;
        while (n != 0) {
            n >>= 1;
            d++;
        }
    }

    /// Number of 32-byte leaves of `len` bytes: ceil(len / 32).
    function leavesOf(uint256 len) internal pure returns (uint256) {
        return (len + 31) >> 5;
    }

    /// Root of the tree of depth `depth` whose leaves are `data` split into 32-byte words (the last
    /// one zero-padded) followed by zero leaves. The data is copied once into free memory and hashed
    /// level by level in place: pair i of a level (at base + 64i) is hashed with the 0x01 prefix
    /// written into the byte just before it (the already consumed last byte of pair i - 1, or a spare
    /// word for pair 0), and its parent overwrites word i (base + 32i), which was consumed too. An odd
    /// level is completed with Z[h]; once a single node is left the root climbs on with Z[h] siblings.
    function bytesRoot(bytes calldata data, uint256 depth) internal pure returns (bytes32 root) {
        uint256 n = leavesOf(data.length);
        if (depth > 32 || n > (uint256(1) << depth)) revert TreeTooSmall(n, depth);
        assembly ("memory-safe") {
            let base := add(mload(0x40), 32) // one spare word below base for pair 0's prefix
            calldatacopy(base, data.offset, data.length)
            mstore(add(base, data.length), 0) // zero-pad the last leaf
            let s := add(base, shl(5, add(n, 2))) // scratch for zero hashes, past the data and one pad leaf
            let z := 0 // Z[h]
            let h := 0
            root := 0
            if n {
                for {} gt(n, 1) {} {
                    if and(n, 1) {
                        mstore(add(base, shl(5, n)), z)
                        n := add(n, 1)
                    }
                    n := shr(1, n)
                    for { let i := 0 } lt(i, n) { i := add(i, 1) } {
                        let src := add(base, sub(shl(6, i), 1))
                        mstore8(src, 1)
                        mstore(add(base, shl(5, i)), keccak256(src, 65))
                    }
                    mstore8(s, 1)
                    mstore(add(s, 1), z)
                    mstore(add(s, 33), z)
                    z := keccak256(s, 65)
                    h := add(h, 1)
                }
                root := mload(base)
            }
            for {} lt(h, depth) { h := add(h, 1) } {
                mstore8(s, 1)
                mstore(add(s, 1), root)
                mstore(add(s, 33), z)
                root := keccak256(s, 65)
                mstore(add(s, 1), z)
                z := keccak256(s, 65)
            }
        }
    }
}

// A key schedule vector produced by strongSwan's charon 5.9.8 (keymat_v2.c and child_sa.c log
// these at level 4) in one run of tests/interop/strongswan_ikev2_test.cpp, Ward initiating:
// IKE SA AES-CBC-128 / HMAC-SHA2-256-128 / PRF_HMAC_SHA2_256 / MODP-2048, ESP AES-CBC-128 /
// HMAC-SHA2-256-128, preshared key "ward and charon agree", IDs ID_IPV4_ADDR 10.77.0.1 / .2.
// The DH secret, keys and key are those of a throwaway test run, nothing in use anywhere.
// Octets: charon's "octets = message + nonce + prf(Sk_px, IDx')", the data AUTH signs.
#pragma once

namespace ward::ike::v2::charon_vector {

inline constexpr const char* kPresharedKey = "ward and charon agree";
inline constexpr const char* kGir =
    "7dd3928887ac172aa3b86e0fa99f3cd421d8a20afaca16beee16a04a760d364ba3d897924476db6fe339cbdcddb7f53a610b475282d90973"
    "d68eedbf135ccc0a8489b9a574a9e0e637efac34e5cc884053a7fab15fdfd7b5052e07240937b93bdc5016dbe8c3924b2069afcc326d82a8"
    "17d3e9233158c00c210a760204e00bc37bd2542d9c1717aaa062fa745597f0dac39351be7aef76e1d98c1e578219201cbec0d902430c6be6"
    "ec1137fcdb89e33d0bb1459f86805422c520918abb1d9db0bc2efa4afe2a4450873a4354bd55389619aab188f3b6cee509c44074dbe27eab"
    "f1ea49b3a9d15c3935c513dca5f9d75c89f610578c01131c07eb72f0b68623e4";
inline constexpr const char* kNi =
    "a1ac5db9cb704846d59000057255842467e18d844e6d46a606b1ee51e1028a76";
inline constexpr const char* kNr =
    "6a93ea9783850dd99da8f090bd1876891d8f3d133b399c83b1ab6ccce47babd0";
inline constexpr const char* kSpiI =
    "d0314dc36c788e43";
inline constexpr const char* kSpiR =
    "0e800060a93b3d34";
inline constexpr const char* kSkeyseed =
    "ce9c2d0a5ca82176e5a6e2e2521dc2cfb7ca399850c4369a13e1270609c27a51";
inline constexpr const char* kSkD =
    "9a69a7b8a308b9a72c033eef8f9b2ab965717d4a189010cfc9c38a029f5e080b";
inline constexpr const char* kSkAi =
    "511c5d1b19b16e068c50765f6ac420371e610ef14aa56c753d2047811499e659";
inline constexpr const char* kSkAr =
    "72ce5335fa7e8d5b6978bd2ad5c99074d6ebb5ea53f2c075379fc8b4302f86f0";
inline constexpr const char* kSkEi =
    "f1bffd3019cef9c0e43ceddbcc7f50fb";
inline constexpr const char* kSkEr =
    "f32269f66f16a64e99b7b6485096d4b8";
inline constexpr const char* kSkPi =
    "bbd4535e60979e269747ee211549b28ce0cca9e8f6fd95c3d425e3708e00b3ab";
inline constexpr const char* kSkPr =
    "697a2e4f1e2b3e75499cd5b3ac5d6ad38bbfd79db7b2e91c093bd5e0ac5589c0";
inline constexpr const char* kIdiBody =
    "010000000a4d0001";
inline constexpr const char* kIdrBody =
    "010000000a4d0002";
inline constexpr const char* kInitiatorOctets =
    "d0314dc36c788e4300000000000000002120220800000000000001b0220000300000002c010100040300000c0100000c800e008003000008"
    "02000005030000080300000c000000080400000e28000108000e0000695871d9b2da1929e872b898eacd46d72550946727f027cab103f921"
    "d924c181e32e96631bcf73850d730fc5130572cbe1a52e037a4d3be8d696e124f068ba21a45e8945eb5f8b6ec64d08c61bbdf31dcab9f44a"
    "40a87185df543a105f5a7b5a814c21c1972e013374cd4ba5c9575867b0c558f374c9ac9d81a1502096ea5232058486bcc3d1d67a60720585"
    "f7c9511964ff1b01f1e8c00b3df038df65d7b902c3c35a2dcaab1f85e1fed9e3025ae9bbcc263e56759365b4aaf86cfee8a7446e1e0f3e76"
    "996aca8ae923fcdd887b461a24ff2ae45e05b5f3c7d44b1190face9e501d9ee30fb208ee3d586b92d7ea231c35558ba8c3975e8d62795299"
    "07a24ab329000024a1ac5db9cb704846d59000057255842467e18d844e6d46a606b1ee51e1028a762900001c0000400436205d0c393a76ef"
    "5b98512a5413d5287a4322480000001c00004005fc85fa09f32bb41586741f26f29625581bbbbedf6a93ea9783850dd99da8f090bd187689"
    "1d8f3d133b399c83b1ab6ccce47babd08ad31205d587db6f265ed6834b8a46d958b3643d8f6558ee246a4593c936af37";
inline constexpr const char* kInitiatorAuth =
    "23f442597a39cde6e78796ff77016fd49db408e4d0fc62f762367d2808034732";
inline constexpr const char* kResponderOctets =
    "d0314dc36c788e430e800060a93b3d342120222000000000000001c0220000300000002c010100040300000c0100000c800e008003000008"
    "0300000c0300000802000005000000080400000e28000108000e0000a98fd7976d85c33a64d712630ac980c6bf28a53f67c7e032a025fc2d"
    "d53a521cd34ea8e2597363485238ec3101d332aaf2b265b042282b9ffc61eced6161a26c61a9443191024811c079764591d7bd261bb3ddcf"
    "c6f055cfd648d7fb8f63cb27a22ed9224d46c31f698cfab0587b8980875fbd9ce799097211aef126f69c7d44494a436bc452065a8bd9e3b7"
    "32822640882f1e9df37b59ec0619bb5db7fe899cf66cb346745acb15e6bae03667701826d364da55738d93264ee46a292ad32db393feab03"
    "15c4a1e608c8a17e7c2bc96247d7417d59985af3c6118e28b75dbcf10c4de1ddea2f7525d1f6147cbe3fe074e166ad75100f694aa6b3bd60"
    "6e0e30f2290000246a93ea9783850dd99da8f090bd1876891d8f3d133b399c83b1ab6ccce47babd02900001c000040046c1b57d3abeeb0a5"
    "ffb1211b27faaf65039cf1182900001c000040052b7afb1603349238f7a43cada00145a3f74d9f0029000008000040220000000800004014"
    "a1ac5db9cb704846d59000057255842467e18d844e6d46a606b1ee51e1028a7684840ae1da501297f9d8d0b3c88b2595efffbc1f787a5035"
    "90c290ee00af16f4";
inline constexpr const char* kResponderAuth =
    "c81cec6dbcc7cb43a8c4a00cf53e918e142b5cdfd153f1531c9eb53748f7c1ba";
inline constexpr const char* kEspEncryptionI =
    "471d994e63162e9ff8775e295dcbf095";
inline constexpr const char* kEspEncryptionR =
    "782fb75ceff5025ea19ba7d8a104afef";
inline constexpr const char* kEspIntegrityI =
    "42a1ef0732b17963554088e838f0507fd0f40554212e3e35edab8a0f584df3a8";
inline constexpr const char* kEspIntegrityR =
    "33ec9006888c5ff9d2679506d8e383601a87902906f9a8f700d9a4dfd01957fa";
inline constexpr const char* kNatdRequestSource =
    "36205d0c393a76ef5b98512a5413d5287a432248";

}  // namespace ward::ike::v2::charon_vector

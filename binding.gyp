{
  # The source list lives in native/sources.json, shared with CMakeLists.txt.
  # KSOCK_SANITIZE=1 in the environment builds with ASan + UBSan.
  "variables": {
    "ksock_sanitize%": "<!(node -p \"process.env.KSOCK_SANITIZE === '1' ? 1 : 0\")"
  },
  "targets": [
    {
      "target_name": "ksock",
      "sources": ["<!@(node -p \"require('./native/sources.json').join(' ')\")"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": [
        "NAPI_VERSION=8",
        "NAPI_DISABLE_CPP_EXCEPTIONS",
        "NODE_ADDON_API_DISABLE_DEPRECATED"
      ],
      "cflags": ["-Wall", "-Wextra", "-fvisibility=hidden", "-fstack-protector-strong"],
      "cflags_cc": ["-Wall", "-Wextra", "-fvisibility=hidden", "-fstack-protector-strong", "-fno-exceptions"],
      "xcode_settings": {
        "GCC_SYMBOLS_PRIVATE_EXTERN": "YES",
        "CLANG_CXX_LIBRARY": "libc++",
        "MACOSX_DEPLOYMENT_TARGET": "11.0",
        "OTHER_CFLAGS": ["-Wall", "-Wextra", "-fstack-protector-strong"]
      },
      "conditions": [
        ["ksock_sanitize==1", {
          "cflags": ["-fsanitize=address,undefined", "-fno-sanitize-recover=undefined", "-fno-omit-frame-pointer", "-O1", "-g"],
          "cflags_cc": ["-fsanitize=address,undefined", "-fno-sanitize-recover=undefined", "-fno-omit-frame-pointer", "-O1", "-g"],
          "ldflags": ["-fsanitize=address,undefined"],
          "xcode_settings": {
            "OTHER_CFLAGS": ["-fsanitize=address,undefined", "-fno-omit-frame-pointer"],
            "OTHER_LDFLAGS": ["-fsanitize=address,undefined"]
          }
        }]
      ]
    }
  ]
}

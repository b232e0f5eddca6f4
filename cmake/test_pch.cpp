// The object that carries ward_test_pch's precompiled headers (cmake/WardTargets.cmake).

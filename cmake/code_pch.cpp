// The object that carries ward_code_pch's precompiled headers (cmake/WardTargets.cmake).

// tana's own script. Every page works without it (reading needs no
// JavaScript); it only adds conveniences on top. Loaded with defer.
"use strict";

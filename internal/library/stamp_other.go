//go:build !linux

package library

import "os"

func platformStamp(os.FileInfo) *FileStamp { return nil }

func stampableFS(string) bool { return false }

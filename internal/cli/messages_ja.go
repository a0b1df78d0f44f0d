package cli

// messagesJA is the Japanese of the commands' output: the key is the English
// format string exactly as the code prints it (verbs included), the value its
// translation with the same verbs (reorder with %[n]d if needed). Keep the
// keys grouped by command.
var messagesJA = map[string]string{
	// facesearch, help, flags
	"facesearch finds similar faces in a face dataset (one folder per person).\n\n":                                                                     "facesearch は顔データセット（人物ごとに 1 フォルダ）から似た顔を探します。\n\n",
	"Usage: facesearch COMMAND [flags] [args]\n\nCommands:\n":                                                                                           "使い方: facesearch コマンド [フラグ] [引数]\n\nコマンド:\n",
	"\nRun 'facesearch help COMMAND' or 'facesearch COMMAND --help' for a command's flags.\n":                                                           "\nコマンドのフラグは 'facesearch help コマンド' または 'facesearch コマンド --help' で表示します。\n",
	"Environment: FACESEARCH_HOME (models and runtime, default ~/.cache/facesearch),\nFACESEARCH_LIBRARY (library directory, default ./.facesearch).\n": "環境変数: FACESEARCH_HOME（モデルとランタイム、既定は ~/.cache/facesearch）、\nFACESEARCH_LIBRARY（ライブラリのディレクトリ、既定は ./.facesearch）。\n",
	"Usage: facesearch %s %s\n\nFlags:\n":                                                                                                               "使い方: facesearch %s %s\n\nフラグ:\n",
	"unknown command %q (see 'facesearch help')":                                                                                                        "不明なコマンド %q です（'facesearch help' を参照）",
	"unknown command %q: did you mean %q? (see 'facesearch help')":                                                                                      "不明なコマンド %q です。%q のことですか？（'facesearch help' を参照）",
	"%s: unknown flag --%s (see 'facesearch help %s')":                                                                                                  "%s: 不明なフラグ --%s です（'facesearch help %s' を参照）",
	"%s: unknown flag --%s: did you mean --%s? (see 'facesearch help %s')":                                                                              "%s: 不明なフラグ --%s です。--%s のことですか？（'facesearch help %s' を参照）",
	"%s: %s (see 'facesearch help %s')":                                                                                                                 "%s: %s（'facesearch help %s' を参照）",
	"no command given":                                                                                                                                  "コマンドが指定されていません",
	" (default %s)":                                                                                                                                     "（既定値 %s）",

	// errors of the library
	"no library here (run 'facesearch index ROOT' first, or set --library / FACESEARCH_LIBRARY)": "ここにライブラリがありません（先に 'facesearch index ROOT' を実行するか、--library / FACESEARCH_LIBRARY を指定してください）",
	"the library has no faces (index a dataset first)":                                           "ライブラリに顔がありません（先にデータセットをインデックスしてください）",

	// index
	"index: give exactly one dataset ROOT": "index: データセットの ROOT を 1 つだけ指定してください",
	"index: --threads must be ≥ 1":         "index: --threads は 1 以上にしてください",
	"indexed":                              "インデックス完了",
	"partly indexed (interrupted)":         "途中までインデックス（中断）",
	"%s %s into %s in %.1fs\n":             "%[1]s: %[2]s → %[3]s（%.1f 秒）\n",
	"  images: %d found; %d unchanged, %d processed, %d touched, %d moved, %d deleted\n": "  画像: %d 枚検出、変更なし %d、処理 %d、更新日時のみ %d、移動 %d、削除 %d\n",
	"  faces written: %d\n": "  書き込んだ顔: %d\n",
	"  failed: %d (recorded; 'facesearch stats' lists all failures)\n": "  失敗: %d（記録済み。'facesearch stats' ですべての失敗を表示）\n",
	"  skipped: %d\n":             "  スキップ: %d\n",
	"  index: empty (no faces)\n": "  インデックス: 空（顔なし）\n",
	"  index: %s, %d faces, %s\n": "  インデックス: %s、顔 %d 個、%s\n",
	"up to date":                  "最新",
	"rebuilt in %.2fs":            "%.2f 秒で再構築",
	"  recall@10 vs exact search: %.3f (%d sample queries%s)\n": "  厳密検索に対する recall@10: %.3f（サンプルクエリ %d 件%s）\n",
	"indexing %d images\n":                        "%d 枚の画像をインデックスします\n",
	"indexed %d/%d images (%.1f img/s, ETA %s)\n": "%d/%d 枚をインデックス（%.1f 枚/秒、残り %s）\n",

	// import-npz
	"imported":                      "インポート完了",
	"partly imported (interrupted)": "途中までインポート（中断）",
	"%s %s into %s in %.2fs\n":      "%[1]s: %[2]s → %[3]s（%.2[4]f 秒）\n",
	"  %s files: %d found; %d unchanged, %d read, %d touched, %d deleted\n":        "  %s ファイル: %d 個検出、変更なし %d、読み込み %d、更新日時のみ %d、削除 %d\n",
	"  failed: %d (skipped and recorded; 'facesearch stats' lists all failures)\n": "  失敗: %d（スキップして記録。'facesearch stats' ですべての失敗を表示）\n",
	"  folders without %s: %d\n": "  %s のないフォルダ: %d\n",
	"    ... and %d more\n":      "    …ほか %d 件\n",

	// faces
	"%s: %dx%d, %d face(s)\n": "%s: %dx%d、顔 %d 個\n",
	"primary":                 "主役",

	// stats
	"stats: takes no arguments": "stats: 引数は取りません",
	"library   %s\n":            "ライブラリ     %s\n",
	"dataset   %s\n":            "データセット   %s\n",
	"model     %s (%d-d embeddings), same-person threshold %.4f (%s)\n": "モデル         %s（%d 次元の埋め込み）、同一人物のしきい値 %.4f（%s）\n",
	"model     %s\n":                    "モデル         %s\n",
	"persons   %d\n":                    "人物           %d\n",
	"images    %d (ok %d, failed %d)\n": "画像           %d（成功 %d、失敗 %d）\n",
	"faces     %d (primary %d, other faces in group photos %d)\n":                                               "顔             %d（主役 %d、集合写真のほかの顔 %d）\n",
	"unsupported %d (formats the decoders cannot read, such as HEIC/AVIF phone photos: convert them to JPEG)\n": "未対応         %d（HEIC/AVIF などデコードできない形式。JPEG に変換してください）\n",
	"index     %s, %d faces, up to date (catalog generation %d)\n":                                              "インデックス   %s、顔 %d 個、最新（カタログ世代 %d）\n",
	"          recall@10 vs exact search %.3f (%d sample queries%s)\n":                                          "               厳密検索に対する recall@10: %.3f（サンプルクエリ %d 件%s）\n",
	"index     %s requested, stale (%s): the next index or search rebuilds it\n":                                "インデックス   %s を指定、古い（%s）: 次の index または search で再構築します\n",
	"index     %s requested, missing: the next index or search builds it\n":                                     "インデックス   %s を指定、未作成: 次の index または search で作成します\n",
	"failures  %d\n": "失敗           %d\n",
	"manifest":       "モデルの既定値", // threshold sources
	"library":        "このライブラリで校正済み",
	"calibrated":     "校正済み",

	// search
	"search: give at least one PHOTO or --vector FILE.npy": "search: 写真（PHOTO）か --vector FILE.npy を 1 つ以上指定してください",
	"search: -k must be ≥ 1":                               "search: -k は 1 以上にしてください",
	"rank":                                                 "順位",
	"similarity":                                           "類似度",
	"same person":                                          "同一人物",
	"person":                                               "人物",
	"file":                                                 "ファイル",
	"faces":                                                "顔の数",
	"yes":                                                  "はい",
	"no":                                                   "いいえ",
	"no face found":                                        "顔が見つかりません",
	"threshold":                                            "しきい値",
	"processing time":                                      "処理時間",
	"face":                                                 "顔",
	"of":                                                   "/",
	"score":                                                "スコア",
	"model manifest":                                       "モデルの既定値",
	"calibrated for this library":                          "このライブラリで校正済み",
	"search: %d of %d queries failed":                      "search: %[2]d 件中 %[1]d 件の検索に失敗しました",
	"%s: not a photo or a folder of photos":                "%s: 写真でも写真のフォルダでもありません",

	// calibrate
	"calibrate: takes no arguments (the library is --library)":            "calibrate: 引数は取りません（ライブラリは --library で指定）",
	"calibrate: --far %g must be between 0 and 1":                         "calibrate: --far %g は 0 と 1 の間にしてください",
	"library %s: %d folders, %d images with a face\n":                     "ライブラリ %s: フォルダ %d、顔のある画像 %d 枚\n",
	"dry run: threshold not stored (the library uses %.4f from the %s)\n": "試行のみ: しきい値は保存していません（ライブラリは %[2]s の %.4[1]f を使います）\n",
	"stored threshold %.4f in the library (was %.4f from the %s)\n":       "しきい値 %.4f をライブラリに保存しました（以前は %[3]s の %.4[2]f）\n",
	"wrote %s\n": "%s を書き出しました\n",
	"threshold %.4f for FAR %g: measured FAR %.2e on %d different-person pairs, expected TAR %.2f%% on %d same-person pairs\n": "FAR %[2]g のしきい値 %.4[1]f: 別人の組 %[4]d 件で実測 FAR %.2[3]e、同一人物の組 %[6]d 件で期待 TAR %.2[5]f%%\n",
	"trimmed: %d images set aside as probably misfiled (or badly detected), %d folder pairs that look like one person\n":       "除外: 誤分類（または検出不良）とみられる画像 %d 枚、同一人物に見えるフォルダの組 %d\n",
	"  ... and %d more\n":                        "  …ほか %d 件\n",
	"  outlier: %s\n":                            "  外れ値: %s\n",
	"ROC (from the folders):\n  %-9s %-10s %s\n": "ROC（フォルダから算出）:\n  %-9s %-10s %s\n",
	"  %-9g (too few pairs to measure)\n":        "  %-9g （組が少なすぎて測れません）\n",
	"warning: %s\n":                              "警告: %s\n",

	// audit, pairs, lookalikes (shared output of the cleansing commands)
	"audit: takes no arguments":                                            "audit: 引数は取りません",
	"audit: %d findings: %d high, %d medium, %d low\n":                     "audit: 指摘 %d 件（高 %d、中 %d、低 %d）\n",
	"audit: suggested moves written to %s (every command commented out)\n": "audit: 移動の提案を %s に書き出しました（すべてコメントアウト済み）\n",
	"audit: report written to %s\n":                                        "audit: レポートを %s に書き出しました\n",
	"No problems found.":                                                   "問題は見つかりませんでした。",
	"%3d. [%s] %s (score %.2f)%s\n     %s\n":                               "%3d. [%s] %s（スコア %.2f）%s\n     %s\n",
	" (dismissed: not a problem)":                                          "（却下済み: 問題なし）",
	"%s: %d faces of %d folders, %s %.2f (%s)\n":                           "%s: フォルダ %[3]d の顔 %[2]d 個、%[4]s %.2[5]f（%[6]s）\n",
	"similarity threshold":                                                 "類似度のしきい値",
	"%s: %d/%d (%.0f%%, %s)\n":                                             "%s: %d/%d（%.0f%%、%s）\n",
	"high":                                                                 "高",
	"medium":                                                               "中",
	"low":                                                                  "低",
	"same-person":                                                          "同一人物",
	"misfiled":                                                             "誤分類",
	"duplicate":                                                            "重複",
	"outlier":                                                              "外れ値",
}

package wechat

import (
	"regexp"
	"strings"
)

// field is a column the importer understands.
type field int

const (
	fNone field = iota
	fID
	fDescription
	fPublished
	fPlays
	fLikes
	fRecommends
	fComments
	fShares
	fForwards
	fCompletion
	fAvgWatch
	nFields
)

// canonical names, as the console writes them; used in messages.
var fieldNames = [nFields]string{
	fID: "视频ID", fDescription: "视频描述", fPublished: "发布时间", fPlays: "播放量",
	fLikes: "喜欢", fRecommends: "推荐", fComments: "评论量", fShares: "分享量",
	fForwards: "转发聊天和朋友圈", fCompletion: "完播率", fAvgWatch: "平均播放时长",
}

// aliases maps a normalized header to its field. The console's own names
// come first; the others are what a renamed or re-saved table uses.
var aliases = map[string]field{}

func init() {
	for f, names := range map[field][]string{
		fID:          {"视频ID", "视频 ID", "作品ID", "动态ID", "视频编号ID", "exportId", "export_id", "objectId", "video_id", "post_id"},
		fDescription: {"视频描述", "视频标题", "作品描述", "作品名称", "作品标题", "动态描述", "动态信息", "内容描述", "描述", "标题", "description", "title"},
		fPublished:   {"发布时间", "发表时间", "发布日期", "发表日期", "创建时间", "published_at", "publish_time", "createTime"},
		fPlays:       {"播放量", "播放", "播放数", "播放次数", "浏览次数", "观看量", "观看次数", "plays", "play"},
		fLikes:       {"喜欢", "喜欢数", "喜欢量", "喜欢次数", "likes", "like"},
		fRecommends:  {"推荐", "推荐数", "推荐量", "推荐次数", "recommends", "recommend"},
		fComments:    {"评论量", "评论", "评论数", "评论次数", "comments", "comment"},
		fShares:      {"分享量", "分享", "分享数", "分享次数", "shares", "share"},
		fForwards:    {"转发聊天和朋友圈", "转发到聊天和朋友圈", "转发聊天及朋友圈", "转发", "转发量", "转发数", "转发次数", "forwards", "forward"},
		fCompletion:  {"完播率", "完整播放率", "完播比例", "completion_rate"},
		fAvgWatch:    {"平均播放时长", "平均观看时长", "人均观看时长", "人均播放时长", "平均播放时间", "avg_watch_seconds", "avg_play_seconds"},
	} {
		for _, n := range names {
			aliases[normalizeHeader(n)] = f
		}
	}
}

var unitSuffixRE = regexp.MustCompile(`\([^()]*\)$`)

// normalizeHeader folds a header cell for matching: no BOM or spaces,
// ASCII parentheses, lower-case ASCII, no trailing unit like "(次)" or "(%)".
func normalizeHeader(s string) string {
	s = strings.NewReplacer("\ufeff", "", "（", "(", "）", ")", " ", "", "\u3000", "", "\t", "", "\u00a0", "", "*", "", "\"", "").Replace(s)
	s = strings.ToLower(strings.TrimSpace(s))
	if t := unitSuffixRE.ReplaceAllString(s, ""); t != "" {
		s = t
	}
	return s
}

// header is the column layout of one export.
type header struct {
	index [nFields]int // column of each field, -1 when absent
	names []string     // the file's own header cells
	width int          // number of header cells
	// percent marks a column whose header gives its unit as "(%)": a bare
	// number in it is a percentage even when it is below 1.
	percent [nFields]bool
}

// matchHeader maps a row's cells to fields; known counts how many matched.
func matchHeader(cells []string) (h header, known int) {
	for i := range h.index {
		h.index[i] = -1
	}
	h.names = make([]string, len(cells))
	for i, c := range cells {
		h.names[i] = strings.TrimSpace(strings.Trim(c, "\ufeff"))
		f, ok := aliases[normalizeHeader(c)]
		if !ok || h.index[f] >= 0 {
			continue // unknown, or a second column for the same field
		}
		h.index[f] = i
		h.percent[f] = strings.HasSuffix(strings.NewReplacer("（", "(", "）", ")", " ", "", "％", "%").Replace(c), "(%)")
		known++
	}
	// the width ignores trailing empty header cells
	h.width = len(cells)
	for h.width > 0 && strings.TrimSpace(cells[h.width-1]) == "" {
		h.width--
	}
	return h, known
}

// reads says whether column col is one the importer reads.
func (h *header) reads(col int) bool {
	for _, i := range h.index {
		if i == col {
			return true
		}
	}
	return false
}

// missingRequired returns the required columns the header lacks.
func (h *header) missingRequired() []string {
	var out []string
	for _, f := range []field{fID, fPublished} {
		if h.index[f] < 0 {
			out = append(out, fieldNames[f])
		}
	}
	return out
}

// columnName is how an error names column i: the file's header and the letter.
func (h *header) columnName(i int) string {
	name := ""
	if i < len(h.names) {
		name = h.names[i]
	}
	if name == "" {
		return "column " + columnLetter(i)
	}
	return "column " + columnLetter(i) + " (" + name + ")"
}

// columnLetter is the spreadsheet letter of column i (0 → A, 26 → AA).
func columnLetter(i int) string {
	s := ""
	for i++; i > 0; i = (i - 1) / 26 {
		s = string(rune('A'+(i-1)%26)) + s
	}
	return s
}

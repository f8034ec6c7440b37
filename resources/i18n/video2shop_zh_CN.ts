<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="zh_CN">
  <context>
    <name>Video2Shop</name>
    <message>
      <source>Close the products of this video</source>
      <translation>关闭本视频的商品</translation>
    </message>
    <message>
      <source>Products seen in this video</source>
      <translation>本视频中出现的商品</translation>
    </message>
    <message>
      <source>Seen in this video: 1 product</source>
      <translation>本视频中出现：1 件商品</translation>
    </message>
    <message>
      <source>{title} — double-click to see it worn</source>
      <translation>{title} — 双击查看穿着的画面</translation>
    </message>
    <message>
      <source>Seen in this video: {n} products</source>
      <translation>本视频中出现：{n} 件商品</translation>
    </message>
    <message>
      <source>Seek (Left/Right: 5 s, Shift: 1 s)</source>
      <translation>跳转（左/右：5 秒，Shift：1 秒）</translation>
    </message>
    <message>
      <source>Position</source>
      <translation>播放位置</translation>
    </message>
    <message>
      <source>Play/Pause (Space)</source>
      <translation>播放/暂停（空格）</translation>
    </message>
    <message>
      <source>Previous frame (,)</source>
      <translation>上一帧（,）</translation>
    </message>
    <message>
      <source>Next frame (. or E)</source>
      <translation>下一帧（. 或 E）</translation>
    </message>
    <message>
      <source>Time and frame</source>
      <translation>时间与帧</translation>
    </message>
    <message>
      <source>Playback speed ([ slower, ] faster)</source>
      <translation>播放速度（[ 减慢，] 加快）</translation>
    </message>
    <message>
      <source>Playback speed</source>
      <translation>播放速度</translation>
    </message>
    <message>
      <source>Mute (M)</source>
      <translation>静音（M）</translation>
    </message>
    <message>
      <source>Volume</source>
      <translation>音量</translation>
    </message>
    <message>
      <source>Fullscreen (F)</source>
      <translation>全屏（F）</translation>
    </message>
    <message>
      <source>frame {i} / {n}</source>
      <translation>第 {i} 帧 / 共 {n}</translation>
    </message>
    <message>
      <source>Why: the deciding frames</source>
      <translation>依据：起决定作用的画面</translation>
    </message>
    <message>
      <source>frame {f} — weight {w}%</source>
      <translation>第 {f} 帧 — 权重 {w}%</translation>
    </message>
    <message>
      <source>top {k} of {n}</source>
      <translation>前 {k} / 共 {n}</translation>
    </message>
    <message>
      <source>Tracks</source>
      <translation>轨迹</translation>
    </message>
    <message>
      <source>Saved</source>
      <translation>收藏</translation>
    </message>
    <message>
      <source>&amp;File</source>
      <translation>文件(&amp;F)</translation>
    </message>
    <message>
      <source>&amp;Open Video…</source>
      <translation>打开视频(&amp;O)…</translation>
    </message>
    <message>
      <source>Open &amp;Recent</source>
      <translation>最近打开(&amp;R)</translation>
    </message>
    <message>
      <source>Load &amp;Annotations…</source>
      <translation>载入标注(&amp;A)…</translation>
    </message>
    <message>
      <source>Load &amp;Subtitles…</source>
      <translation>载入字幕(&amp;S)…</translation>
    </message>
    <message>
      <source>Search by &amp;Photo…</source>
      <translation>以图搜商品(&amp;P)…</translation>
    </message>
    <message>
      <source>Search &amp;Pasted Picture</source>
      <translation>搜索粘贴的图片(&amp;P)</translation>
    </message>
    <message>
      <source>Open &amp;Catalogue…</source>
      <translation>打开商品目录(&amp;C)…</translation>
    </message>
    <message>
      <source>&amp;Quit</source>
      <translation>退出(&amp;Q)</translation>
    </message>
    <message>
      <source>&amp;Playback</source>
      <translation>播放(&amp;P)</translation>
    </message>
    <message>
      <source>Play/Pause</source>
      <translation>播放/暂停</translation>
    </message>
    <message>
      <source>Forward 5 s</source>
      <translation>快进 5 秒</translation>
    </message>
    <message>
      <source>Back 5 s</source>
      <translation>后退 5 秒</translation>
    </message>
    <message>
      <source>Forward 1 s</source>
      <translation>快进 1 秒</translation>
    </message>
    <message>
      <source>Back 1 s</source>
      <translation>后退 1 秒</translation>
    </message>
    <message>
      <source>Next Frame</source>
      <translation>下一帧</translation>
    </message>
    <message>
      <source>Previous Frame</source>
      <translation>上一帧</translation>
    </message>
    <message>
      <source>Slower</source>
      <translation>减慢</translation>
    </message>
    <message>
      <source>Faster</source>
      <translation>加快</translation>
    </message>
    <message>
      <source>Mute</source>
      <translation>静音</translation>
    </message>
    <message>
      <source>&amp;Audio</source>
      <translation>音频(&amp;A)</translation>
    </message>
    <message>
      <source>&amp;Subtitles</source>
      <translation>字幕(&amp;S)</translation>
    </message>
    <message>
      <source>&amp;View</source>
      <translation>视图(&amp;V)</translation>
    </message>
    <message>
      <source>&amp;Fullscreen</source>
      <translation>全屏(&amp;F)</translation>
    </message>
    <message>
      <source>Leave Fullscreen</source>
      <translation>退出全屏</translation>
    </message>
    <message>
      <source>Side &amp;Panel</source>
      <translation>侧边栏(&amp;P)</translation>
    </message>
    <message>
      <source>&amp;Saved Products</source>
      <translation>收藏的商品(&amp;S)</translation>
    </message>
    <message>
      <source>&amp;QA</source>
      <translation>质检(&amp;Q)</translation>
    </message>
    <message>
      <source>&amp;QA Mode</source>
      <translation>质检模式(&amp;Q)</translation>
    </message>
    <message>
      <source>&amp;Go to Frame…</source>
      <translation>跳到帧(&amp;G)…</translation>
    </message>
    <message>
      <source>Loop Start (&amp;A)</source>
      <translation>循环起点(&amp;A)</translation>
    </message>
    <message>
      <source>Loop End (&amp;B)</source>
      <translation>循环终点(&amp;B)</translation>
    </message>
    <message>
      <source>&amp;Clear Loop</source>
      <translation>清除循环(&amp;C)</translation>
    </message>
    <message>
      <source>Flag Wrong &amp;Box…</source>
      <translation>标记错误框(&amp;B)…</translation>
    </message>
    <message>
      <source>Flag Wrong &amp;Match…</source>
      <translation>标记错误匹配(&amp;M)…</translation>
    </message>
    <message>
      <source>&amp;Export Analysis…</source>
      <translation>导出分析结果(&amp;E)…</translation>
    </message>
    <message>
      <source>Export &amp;Flags…</source>
      <translation>导出标记(&amp;F)…</translation>
    </message>
    <message>
      <source>(none)</source>
      <translation>（无）</translation>
    </message>
    <message>
      <source>None</source>
      <translation>无</translation>
    </message>
    <message>
      <source>Load Subtitles…</source>
      <translation>载入字幕…</translation>
    </message>
    <message>
      <source>(no audio tracks)</source>
      <translation>（没有音轨）</translation>
    </message>
    <message>
      <source>Sound needs VLC (the player runs without it)</source>
      <translation>声音需要 VLC（播放器目前未使用它）</translation>
    </message>
    <message>
      <source>Clear Menu</source>
      <translation>清空列表</translation>
    </message>
    <message>
      <source>Buy</source>
      <translation>购买</translation>
    </message>
    <message>
      <source>Buy: open the product's page in the browser</source>
      <translation>购买：在浏览器中打开商品页面</translation>
    </message>
    <message>
      <source>Save this product</source>
      <translation>收藏此商品</translation>
    </message>
    <message>
      <source>Save this product with this moment (View ▸ Saved Products)</source>
      <translation>收藏此商品及当前画面（视图 ▸ 收藏的商品）</translation>
    </message>
    <message>
      <source>no image</source>
      <translation>无图片</translation>
    </message>
    <message>
      <source>match {score}</source>
      <translation>匹配度 {score}</translation>
    </message>
    <message>
      <source>{n} sold</source>
      <translation>已售 {n}</translation>
    </message>
    <message>
      <source>Nothing saved yet: the ♡ on a product's card keeps it here, with the moment it came from.</source>
      <translation>还没有收藏：点商品卡片上的 ♡，商品和它出现的画面会保存在这里。</translation>
    </message>
    <message>
      <source>Remove</source>
      <translation>移除</translation>
    </message>
    <message>
      <source>Export CSV…</source>
      <translation>导出 CSV…</translation>
    </message>
    <message>
      <source>{video} at {moment}</source>
      <translation>{video} 的 {moment}</translation>
    </message>
    <message>
      <source>Matches</source>
      <translation>匹配的商品</translation>
    </message>
    <message>
      <source>No garment selected</source>
      <translation>未选中服装</translation>
    </message>
    <message>
      <source>Click a box on the video to see the garment here.</source>
      <translation>点击视频上的方框，在这里查看这件服装。</translation>
    </message>
    <message>
      <source>Frames {a}–{b} ({n} boxes, {s} s)</source>
      <translation>第 {a}–{b} 帧（{n} 个框，{s} 秒）</translation>
    </message>
    <message>
      <source>Product: {id}</source>
      <translation>商品：{id}</translation>
    </message>
    <message>
      <source>score {s}</source>
      <translation>得分 {s}</translation>
    </message>
    <message>
      <source>Open a video with Ctrl+O, or drop a file here</source>
      <translation>按 Ctrl+O 打开视频，或把文件拖到这里</translation>
    </message>
  </context>
</TS>
